#!/usr/bin/env bash
# The rdpprobe lab: real third-party RDP servers on loopback for the integration tests.
#
# Usage: lab/lab.sh up|tools|down|status|env
#   up      install the Debian packages the peers need that are missing (root only), then start every
#           peer that is not already running and wait until each one listens. Safe to repeat: a lab
#           that is up is left alone and its status printed.
#   tools   install the test tools that are missing (root only): prometheus/promtool and chromium,
#           which the exporter and sweep report tests drive, zsh and fish, which check the
#           completion scripts, and groff and man, which check the man page. `make test` runs it;
#           `up` does not, so the README's first command installs only what the servers need.
#   down    stop the processes this lab started (PIDs recorded in the state dir, each checked to be
#           still the program we started before it is signalled). Nothing else is touched.
#   status  one line per peer (name, address, up/down); exits 1 if a peer that should listen does not.
#   env     shell exports describing the lab:  eval "$(lab/lab.sh env)"
#
# Peers, all on loopback, port = RDPLAB_BASE_PORT (default 33890) + offset:
#   +1 nla       FreeRDP shadow server /sec:nla: CredSSP + NTLM against a SAM file; also on [::1]
#   +2 nla-ext   FreeRDP shadow server /sec:ext: asks for HYBRID_EX but answers every negotiation
#                with SSL_REQUIRED_BY_SERVER, even one offering SSL (a genuinely misconfigured server)
#   +3 tls       FreeRDP shadow server /sec:tls: TLS without NLA, no credential check before the session
#   +4 rdp       FreeRDP shadow server /sec:rdp: standard RDP security only
#   +5 xrdp      xrdp with security_layer=negotiate (TLS or RDP security, never NLA)
#   +6 xrdp-rdp  xrdp with security_layer=rdp
#   +8 kdc       MIT Kerberos KDC (krb5kdc), realm LAB.TEST, TCP and UDP
#   +9 closed    nothing listens (connection refused)
# The shadow servers show an Xvfb display (RDPLAB_DISPLAY, default :91).
# Accounts on the NLA servers: LAB\labuser and alice (no domain), password RDPLAB_PASSWORD
# (default Lab-Passw0rd!).
# Kerberos: realm LAB.TEST (database, kdc.conf, krb5.conf, the keytab and the KDC's log in
# $RDPLAB_DIR/krb5; the database is made anew whenever the KDC starts). Every account has the password
# above and one state each: labuser (good), badpw (for wrong-password tests: a policy that counts
# failures and never locks), locked (locked out by one wrong password at start), disabled
# (-allow_tix), pwexpired (-pwexpire in the past), mustchange (+needchange), expired (-expire in the
# past), rc4only (an RC4-HMAC key only), nopreauth (the one account without pre-authentication:
# the KDC answers its AS-REQ at once, so only the client can tell a wrong password). The service
# TERMSRV/localhost has its keys in a keytab; the host nospn.lab.test has no SPN. Every other user
# requires pre-authentication, as in Active Directory.
# Tools: kinit, kvno, kadmin.local with KRB5_CONFIG=$RDPLAB_KRB5_CONFIG KRB5_KDC_PROFILE=$RDPLAB_KDC_PROFILE,
# and MIT's GSS-API for /usr/bin/python3 (python3-gssapi).
# Also installed, for comparing against other clients: xfreerdp (needs DISPLAY set to the lab display),
# nmap (force its rdp-* scripts onto these ports, e.g. --script +rdp-ntlm-info), tshark, and impacket
# for /usr/bin/python3; and GNU time, with which make bench reads each client's own peak memory.
# The test tools (prometheus, chromium, zsh, fish) come with `tools`, not `up`.
#
# State (SAM file, configs, logs, PID files) is kept in RDPLAB_DIR (default /tmp/rdplab); the layout
# matches the shared lab script's, so either script can stop or reuse a lab the other started.
set -euo pipefail

STATE=${RDPLAB_DIR:-/tmp/rdplab}
BASE_PORT=${RDPLAB_BASE_PORT:-33890}
DISPLAY_NO=${RDPLAB_DISPLAY:-91}
DISPLAY_NO=${DISPLAY_NO#:} # accept both 91 and :91 (what `env` prints)
ACCOUNT_USER=labuser
ACCOUNT_DOMAIN=LAB
ACCOUNT_PASSWORD=${RDPLAB_PASSWORD:-Lab-Passw0rd!}

# krb5-kdc, krb5-admin-server (kadmin.local, kdb5_util) and krb5-user (kinit, kvno) are the lab's KDC;
# python3-gssapi is MIT's GSS-API, the independent peer of our RFC 4121 tokens; openssl cross-checks
# the probe's certificate verdicts.
DEB_PACKAGES="freerdp2-shadow-x11 freerdp2-x11 winpr-utils xrdp xvfb nmap tshark python3-impacket iproute2 time krb5-kdc krb5-admin-server krb5-user python3-gssapi openssl"
# The tests' own tools: prometheus (with promtool) and chromium for the exporter and sweep report
# tests, zsh and fish to parse the completion scripts, groff and man to check the man page. Only
# `tools` installs them.
TOOL_PACKAGES="prometheus chromium zsh fish groff-base man-db"
SERVERS="nla nla-ext tls rdp xrdp xrdp-rdp kdc"

KRB_REALM=LAB.TEST
KRB_DIR=$STATE/krb5
KRB_SPN=TERMSRV/localhost
KRB_NOSPN_HOST=nospn.lab.test
# name:state of every Kerberos account; cmd_env exports each as RDPLAB_KRB_<STATE>_USER.
KRB_ACCOUNTS="labuser:good badpw:badpw locked:locked disabled:disabled pwexpired:pwexpired mustchange:mustchange expired:expired rc4only:rc4 nopreauth:nopreauth"

port_of() {
	case $1 in
	nla | nla6) echo $((BASE_PORT + 1)) ;;
	nla-ext) echo $((BASE_PORT + 2)) ;;
	tls) echo $((BASE_PORT + 3)) ;;
	rdp) echo $((BASE_PORT + 4)) ;;
	xrdp) echo $((BASE_PORT + 5)) ;;
	xrdp-rdp) echo $((BASE_PORT + 6)) ;;
	kdc) echo $((BASE_PORT + 8)) ;;
	closed) echo $((BASE_PORT + 9)) ;;
	*) return 1 ;;
	esac
}

say() { echo "lab: $*" >&2; }
fail() {
	say "$*"
	exit 1
}

# ---- packages ---------------------------------------------------------------------------------------

missing_packages() { # package... (default: the peers')
	local p
	for p in ${*:-$DEB_PACKAGES}; do
		[ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" = "install ok installed" ] || echo "$p"
	done
}

ensure_packages() { # package... (default: the peers')
	local missing want=${*:-$DEB_PACKAGES}
	missing=$(missing_packages $want | xargs)
	[ -z "$missing" ] && return 0
	[ "$(id -u)" = 0 ] || fail "Debian packages missing: $missing (run lab/lab.sh as root, or apt-get install them)"
	say "installing $missing (this takes a minute or two)"
	# Installing xrdp would start Debian's own xrdp service on 3389: forbid service starts while
	# apt runs, unless the machine already has a policy of its own.
	local policy=/usr/sbin/policy-rc.d ours=0
	if [ ! -e "$policy" ]; then
		printf '#!/bin/sh\n# written by rdpprobe lab/lab.sh during apt-get install\nexit 101\n' >"$policy"
		chmod 755 "$policy"
		ours=1
	fi
	local rc=0
	{
		apt-get update -qq &&
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o Dpkg::Options::=--force-confold $missing
	} >"$STATE/apt.log" 2>&1 </dev/null || rc=$?
	[ $ours = 1 ] && rm -f "$policy"
	if [ $rc != 0 ]; then
		tail -n 25 "$STATE/apt.log" >&2
		fail "apt-get failed (exit $rc); full log in $STATE/apt.log"
	fi
	missing=$(missing_packages $want | xargs)
	[ -z "$missing" ] || fail "still missing after apt-get install: $missing"
}

# ---- processes --------------------------------------------------------------------------------------

listens() { # port [host]: does anything accept TCP connections on host (default 127.0.0.1):port?
	timeout 2 bash -c "exec 3<>/dev/tcp/${2:-127.0.0.1}/$1" 2>/dev/null
}

# What the command line of each of our processes must contain, so that a PID file left behind by a
# dead process never makes us signal a stranger that reused the PID.
signature() {
	case $1 in
	xvfb) echo "Xvfb :$DISPLAY_NO " ;;
	xrdp) echo "xrdp --nodaemon --config $STATE/xrdp-negotiate.ini" ;;
	xrdp-rdp) echo "xrdp --nodaemon --config $STATE/xrdp-rdp.ini" ;;
	kdc) echo "krb5kdc -r $KRB_REALM -P $KRB_DIR/krb5kdc.pid -n" ;;
	*) echo "freerdp-shadow-cli /port:$(port_of "$1") " ;;
	esac
}

pid_of() { # name → PID of our live process, or nothing (status 1)
	local f=$STATE/$1.pid pid cmd
	[ -s "$f" ] || return 1
	pid=$(cat "$f")
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	cmd=$(tr '\0' ' ' 2>/dev/null </proc/"$pid"/cmdline) || return 1
	[[ "$cmd " == *"$(signature "$1")"* ]] || return 1
	echo "$pid"
}

alive() { pid_of "$1" >/dev/null; }

exists() { # pid: still a process? A zombie that only awaits its reaper counts as gone.
	local st
	{ read -r st </proc/"$1"/stat; } 2>/dev/null || return 1
	st=${st##*) }
	[ "${st%% *}" != Z ]
}

launch() { # name command... — detached (own session, no terminal, no inherited descriptors), PID recorded
	local name=$1
	shift
	rm -f "$STATE/$name.pid"
	# The inner shell writes its own PID and then execs the server, so the PID file is right even
	# if setsid had to fork.
	setsid bash -c '
		pidfile=$1; shift
		for fd in /proc/$$/fd/*; do
			fd=${fd##*/}
			[ "$fd" -gt 2 ] 2>/dev/null && eval "exec $fd>&-"
		done
		echo $$ >"$pidfile"
		exec "$@"' lab-launch "$STATE/$name.pid" "$@" \
		>"$STATE/$name.log" 2>&1 </dev/null &
	local i
	for i in $(seq 50); do
		[ -s "$STATE/$name.pid" ] && return 0
		sleep 0.1
	done
	fail "$name: no PID recorded"
}

stop() { # name... — stop those of our processes that are running: TERM, up to 3 s, then KILL
	local name pid i pids=""
	for name in "$@"; do
		if pid=$(pid_of "$name"); then
			kill "$pid" 2>/dev/null || true
			pids="$pids $pid"
			say "stopping $name (pid $pid)"
		elif [ -e "$STATE/$name.pid" ]; then
			say "$name: recorded pid $(cat "$STATE/$name.pid") is gone or not ours; left alone"
		fi
	done
	for i in $(seq 30); do
		local left=""
		for pid in $pids; do exists "$pid" && left="$left $pid"; done
		pids=$left
		[ -z "$pids" ] && break
		sleep 0.1
	done
	for pid in $pids; do
		say "pid $pid outlived SIGTERM; killing it"
		kill -KILL "$pid" 2>/dev/null || true
	done
	for name in "$@"; do rm -f "$STATE/$name.pid"; done
}

await() { # name port [host] — wait until the peer listens (its process must stay alive meanwhile)
	local i
	for i in $(seq 150); do
		listens "$2" "${3:-}" && return 0
		alive "$1" || break
		sleep 0.1
	done
	say "$1 is not listening on ${3:-127.0.0.1} port $2; the end of $STATE/$1.log:"
	tail -n 20 "$STATE/$1.log" >&2 || true
	return 1
}

# ---- peers ------------------------------------------------------------------------------------------

write_sam() {
	local tmp=$STATE/SAM.new
	(
		umask 077
		winpr-hash -u "$ACCOUNT_USER" -p "$ACCOUNT_PASSWORD" -d "$ACCOUNT_DOMAIN" -f sam
		winpr-hash -u alice -p "$ACCOUNT_PASSWORD" -f sam
	) >"$tmp"
	chmod 600 "$tmp"
	mv -f "$tmp" "$STATE/SAM"
}

start_xvfb() {
	local ready=$STATE/xvfb.ready i
	if [ -S "/tmp/.X11-unix/X$DISPLAY_NO" ] || [ -e "/tmp/.X$DISPLAY_NO-lock" ]; then
		local holder
		holder=$(cat "/tmp/.X$DISPLAY_NO-lock" 2>/dev/null | tr -d ' ') || true
		if [ -n "$holder" ] && exists "$holder"; then
			fail "display :$DISPLAY_NO belongs to another X server (pid $holder); set RDPLAB_DISPLAY"
		fi
		rm -f "/tmp/.X11-unix/X$DISPLAY_NO" "/tmp/.X$DISPLAY_NO-lock" # left by a dead server
	fi
	rm -f "$ready"
	# Xvfb writes the display number to fd 3 once it accepts clients.
	launch xvfb bash -c 'exec Xvfb ":$1" -screen 0 1024x768x24 -nolisten tcp -noreset -displayfd 3 3>"$2"' \
		xvfb "$DISPLAY_NO" "$ready"
	for i in $(seq 100); do
		[ -s "$ready" ] && return 0
		alive xvfb || break
		sleep 0.1
	done
	tail -n 20 "$STATE/xvfb.log" >&2 || true
	fail "Xvfb did not start on :$DISPLAY_NO"
}

start_shadow() { # name
	local sec bind=127.0.0.1
	case $1 in
	nla) sec=nla bind="127.0.0.1,[::1]" ;;
	nla-ext) sec=ext ;;
	tls) sec=tls ;;
	rdp) sec=rdp ;;
	esac
	launch "$1" env HOME="$STATE/home" DISPLAY=":$DISPLAY_NO" WLOG_LEVEL=INFO \
		freerdp-shadow-cli "/port:$(port_of "$1")" "/sec:$sec" "/sam-file:$STATE/SAM" "/bind-address:$bind"
}

start_xrdp() { # name
	local layer=negotiate
	[ "$1" = xrdp-rdp ] && layer=rdp
	local conf=$STATE/xrdp-$layer.ini
	# A private copy of the packaged configuration: our port on loopback only, our security layer,
	# no forking, our log file.
	sed -e "s|^port=3389\$|port=tcp://127.0.0.1:$(port_of "$1")|" \
		-e "s|^security_layer=.*|security_layer=$layer|" \
		-e "s|^fork=.*|fork=false|" \
		-e "s|^LogFile=.*|LogFile=$STATE/xrdp-$layer.log|" \
		/etc/xrdp/xrdp.ini >"$conf"
	grep -q "^port=tcp://127.0.0.1:$(port_of "$1")\$" "$conf" || fail "/etc/xrdp/xrdp.ini has no 'port=3389' line to rewrite"
	mkdir -p /run/xrdp/sockdir 2>/dev/null || true
	launch "$1" xrdp --nodaemon --config "$conf"
}

# The KDC's own files, and the tools run against them: never the machine's /etc/krb5.conf or
# /etc/krb5kdc, nor the user's ccache.
krb_env() { # command... — run a Kerberos tool against the lab's realm
	env KRB5_CONFIG="$KRB_DIR/krb5.conf" KRB5_KDC_PROFILE="$KRB_DIR/kdc.conf" \
		KRB5CCNAME="FILE:$KRB_DIR/lab.ccache" "$@"
}

write_krb5_config() {
	local port
	port=$(port_of kdc)
	mkdir -p "$KRB_DIR"
	chmod 700 "$KRB_DIR"
	# RC4-HMAC stays a supported key type so that an RC4-only account can exist, as in a domain that
	# has not enforced AES; every principal requires pre-authentication, as in Active Directory.
	cat >"$KRB_DIR/kdc.conf" <<EOF
[kdcdefaults]
	kdc_listen = 127.0.0.1:$port
	kdc_tcp_listen = 127.0.0.1:$port

[realms]
	$KRB_REALM = {
		database_name = $KRB_DIR/principal
		key_stash_file = $KRB_DIR/stash
		acl_file = $KRB_DIR/kadm5.acl
		master_key_type = aes256-cts-hmac-sha1-96
		supported_enctypes = aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal rc4-hmac:normal
		default_principal_flags = +preauth
		max_life = 10h
	}

[logging]
	kdc = FILE:$KRB_DIR/krb5kdc.log
	default = FILE:$KRB_DIR/krb5lib.log
EOF
	cat >"$KRB_DIR/krb5.conf" <<EOF
[libdefaults]
	default_realm = $KRB_REALM
	dns_lookup_kdc = false
	dns_lookup_realm = false
	rdns = false
	dns_canonicalize_hostname = false
	# TCP first (as rdpprobe), UDP after it: the KDC listens on both.
	udp_preference_limit = 1
	permitted_enctypes = aes256-cts-hmac-sha1-96 aes128-cts-hmac-sha1-96 rc4-hmac
	default_tkt_enctypes = aes256-cts-hmac-sha1-96 aes128-cts-hmac-sha1-96 rc4-hmac
	default_tgs_enctypes = aes256-cts-hmac-sha1-96 aes128-cts-hmac-sha1-96 rc4-hmac

[realms]
	$KRB_REALM = {
		kdc = 127.0.0.1:$port
	}

[domain_realm]
	localhost = $KRB_REALM
	.lab.test = $KRB_REALM
	lab.test = $KRB_REALM
EOF
	: >"$KRB_DIR/kadm5.acl"
}

kadmin_q() { # query — kadmin.local on the lab's database; its chatter goes to a log
	krb_env kadmin.local -r "$KRB_REALM" -q "$1" >>"$KRB_DIR/kadmin-setup.log" 2>&1 </dev/null ||
		fail "kadmin.local failed; see $KRB_DIR/kadmin-setup.log"
}

# A fresh database at every start: the tests change account state (failure counts, lockout).
create_realm() {
	local master
	rm -f "$KRB_DIR"/principal* "$KRB_DIR/stash" "$KRB_DIR/termsrv.keytab" "$KRB_DIR/lab.ccache" "$KRB_DIR/kadmin-setup.log"
	# The master password only encrypts the database; -s stashes the key, so nobody needs it again.
	master=$(head -c 24 /dev/urandom | base64)
	krb_env kdb5_util create -s -r "$KRB_REALM" -P "$master" >"$KRB_DIR/kdb5_util.log" 2>&1 </dev/null ||
		fail "kdb5_util create failed; see $KRB_DIR/kdb5_util.log"
	unset master

	local pw=$ACCOUNT_PASSWORD past
	past=$(date -u -d '2 days ago' '+%Y-%m-%d %H:%M:%S UTC')
	# badpw counts its failures (kadmin.local getprinc: "Failed password attempts") and never locks;
	# locked locks at its first failure and stays locked.
	kadmin_q "addpol -maxfailure 1000 -failurecountinterval 0 -lockoutduration 0 countfailures"
	kadmin_q "addpol -maxfailure 1 -failurecountinterval 0 -lockoutduration 0 lockout"
	kadmin_q "addprinc -pw $pw labuser"
	kadmin_q "addprinc -pw $pw -policy countfailures badpw"
	kadmin_q "addprinc -pw $pw -policy lockout locked"
	kadmin_q "addprinc -pw $pw -allow_tix disabled"
	kadmin_q "addprinc -pw $pw -pwexpire \"$past\" pwexpired"
	kadmin_q "addprinc -pw $pw +needchange mustchange"
	kadmin_q "addprinc -pw $pw -expire \"$past\" expired"
	kadmin_q "addprinc -pw $pw -e rc4-hmac:normal rc4only"
	kadmin_q "addprinc -pw $pw -requires_preauth nopreauth"
	# A service that requires pre-authentication would refuse tickets to nopreauth's TGT (MIT's
	# KRB_ERR_GENERIC "NO PREAUTH"); Active Directory has no such flag on services.
	kadmin_q "addprinc -randkey -requires_preauth $KRB_SPN"
	kadmin_q "ktadd -k $KRB_DIR/termsrv.keytab $KRB_SPN"
	chmod 600 "$KRB_DIR/termsrv.keytab"
}

start_kdc() {
	write_krb5_config
	create_realm
	rm -f "$KRB_DIR/krb5kdc.log"
	launch kdc env KRB5_CONFIG="$KRB_DIR/krb5.conf" KRB5_KDC_PROFILE="$KRB_DIR/kdc.conf" \
		krb5kdc -r "$KRB_REALM" -P "$KRB_DIR/krb5kdc.pid" -n
	await kdc "$(port_of kdc)" || return 0 # cmd_up's own await says why
	# One wrong password locks "locked" (its policy allows a single failure): kinit says
	# "Preauthentication failed" this once, and from then on the KDC says KDC_ERR_CLIENT_REVOKED.
	echo "not-the-password" | krb_env kinit locked >>"$KRB_DIR/kadmin-setup.log" 2>&1 || true
	rm -f "$KRB_DIR/lab.ccache"
}

cmd_up() {
	mkdir -p "$STATE/home"
	ensure_packages

	local p todo=""
	for p in $SERVERS; do
		if alive "$p" && listens "$(port_of "$p")"; then continue; fi
		todo="$todo $p"
	done
	if [ -z "$todo" ] && alive xvfb; then
		say "already up (lab/lab.sh down first to restart it)"
		cmd_status
		return
	fi

	# Anything we start must get its port; a port held by a process that is not ours is an error.
	for p in $todo; do
		if ! alive "$p" && listens "$(port_of "$p")"; then
			fail "127.0.0.1:$(port_of "$p") ($p) is in use by another program; set RDPLAB_BASE_PORT"
		fi
	done

	write_sam
	if ! alive xvfb; then
		# The shadow servers cannot outlive their display: restart those that ran on the old one.
		for p in nla nla-ext tls rdp; do
			if alive "$p"; then
				stop "$p"
				case " $todo " in *" $p "*) ;; *) todo="$todo $p" ;; esac
			fi
		done
		start_xvfb
	fi
	stop $todo # a live process that does not listen is stuck: replace it
	for p in $todo; do
		case $p in
		xrdp*) start_xrdp "$p" ;;
		kdc) start_kdc ;;
		*) start_shadow "$p" ;;
		esac
	done

	local bad=""
	for p in $todo; do
		await "$p" "$(port_of "$p")" || bad="$bad $p"
		if [ "$p" = nla ] && [ -e /proc/net/if_inet6 ] && grep -q '^0*1 ' /proc/net/if_inet6; then
			await nla "$(port_of nla)" ::1 || bad="$bad nla6"
		fi
	done
	if [ -n "$bad" ]; then
		cmd_down
		fail "did not come up:$bad (logs in $STATE)"
	fi
	cmd_status
}

cmd_down() {
	local p
	# Servers first, their display last.
	stop $SERVERS
	stop xvfb
}

cmd_status() {
	local p port addr state rc=0
	for p in nla nla6 nla-ext tls rdp xrdp xrdp-rdp kdc closed; do
		port=$(port_of "$p")
		addr=127.0.0.1:$port host=127.0.0.1
		[ "$p" = nla6 ] && addr="[::1]:$port" host=::1
		if listens "$port" "$host"; then state=up; else state=down; fi
		printf '%-9s %-16s %s\n' "$p" "$addr" "$state"
		if [ "$p" = closed ]; then [ $state = down ] || rc=1; else [ $state = up ] || rc=1; fi
	done
	return $rc
}

cmd_env() {
	local p var
	for p in nla nla-ext tls rdp xrdp xrdp-rdp kdc closed; do
		var=$(echo "$p" | tr 'a-z-' 'A-Z_')
		echo "export RDPLAB_$var=127.0.0.1:$(port_of "$p")"
	done
	echo "export RDPLAB_NLA6='[::1]:$(port_of nla)'" # quoted: [::1] is a glob pattern to the shell
	printf 'export RDPLAB_USER=%q\n' "$ACCOUNT_USER"
	printf 'export RDPLAB_DOMAIN=%q\n' "$ACCOUNT_DOMAIN"
	printf 'export RDPLAB_PASSWORD=%q\n' "$ACCOUNT_PASSWORD"
	echo "export RDPLAB_DISPLAY=:$DISPLAY_NO"
	# Kerberos: the lab's krb5.conf under a name of its own (the user's KRB5_CONFIG is left alone),
	# kdc.conf for kadmin.local, the KDC's log; every account has RDPLAB_PASSWORD.
	printf 'export RDPLAB_REALM=%q\n' "$KRB_REALM"
	printf 'export RDPLAB_KRB5_CONFIG=%q\n' "$KRB_DIR/krb5.conf"
	printf 'export RDPLAB_KDC_PROFILE=%q\n' "$KRB_DIR/kdc.conf"
	printf 'export RDPLAB_KDC_LOG=%q\n' "$KRB_DIR/krb5kdc.log"
	printf 'export RDPLAB_KEYTAB=%q\n' "$KRB_DIR/termsrv.keytab"
	printf 'export RDPLAB_SPN=%q\n' "$KRB_SPN"
	printf 'export RDPLAB_KRB_NOSPN_HOST=%q\n' "$KRB_NOSPN_HOST"
	local a
	for a in $KRB_ACCOUNTS; do
		var=$(echo "${a#*:}" | tr 'a-z' 'A-Z')
		printf 'export RDPLAB_KRB_%s_USER=%q\n' "$var" "${a%%:*}"
	done
}

locked() { # command — run it holding the lab's lock, so that concurrent up/down calls do not collide
	mkdir -p "$STATE"
	exec 9>>"$STATE/lock"
	flock -w 600 9 || fail "timed out waiting for another lab/lab.sh holding $STATE/lock"
	"$@"
}

cmd_tools() {
	mkdir -p "$STATE"
	ensure_packages $TOOL_PACKAGES
}

case ${1:-} in
up) locked cmd_up ;;
tools) locked cmd_tools ;;
down) locked cmd_down ;;
status) cmd_status ;;
env) cmd_env ;;
*)
	sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//' >&2
	exit 2
	;;
esac
