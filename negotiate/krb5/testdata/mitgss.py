# MIT's GSS-API (python3-gssapi over libgssapi-krb5) as the independent peer
# of our Kerberos tokens: lab_test.go runs it and speaks hex lines on stdin
# and stdout. Never given a password: the acceptor reads the keytab of
# KRB5_KTNAME, the initiator the ccache of KRB5CCNAME.
#   accept SPN: AP-REQ → AP-REP; then our Wrap → its plaintext and its own
#               Wrap of "mit:"+plaintext; then our MIC of "mic" → "ok" and its MIC of "mic".
#   init SPN:   → AP-REQ; AP-REP →; → its Wrap of "mit-init"; our Wrap → plaintext.
import sys
import gssapi

KRB5 = gssapi.OID.from_int_seq("1.2.840.113554.1.2.2")


def read():
    return bytes.fromhex(sys.stdin.readline().strip())


def write(b):
    sys.stdout.write(b.hex() + "\n")
    sys.stdout.flush()


mode, spn = sys.argv[1], sys.argv[2]
service, host = spn.split("/", 1)
name = gssapi.Name(service + "@" + host, gssapi.NameType.hostbased_service)
if mode == "accept":
    creds = gssapi.Credentials(usage="accept")
    ctx = gssapi.SecurityContext(creds=creds, usage="accept")
    out = ctx.step(read())
    write(out or b"")
    plain = ctx.unwrap(read()).message
    write(plain)
    write(ctx.wrap(b"mit:" + plain, True).message)
    ctx.verify_signature(b"mic", read())
    write(b"ok")
    write(ctx.get_signature(b"mic"))
else:
    flags = [gssapi.RequirementFlag.mutual_authentication, gssapi.RequirementFlag.confidentiality,
             gssapi.RequirementFlag.integrity, gssapi.RequirementFlag.out_of_sequence_detection]
    ctx = gssapi.SecurityContext(name=name, mech=KRB5, usage="initiate", flags=flags)
    write(ctx.step())
    ctx.step(read())
    write(ctx.wrap(b"mit-init", True).message)
    write(ctx.unwrap(read()).message)
