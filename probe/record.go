package probe

// Side says who sent a message.
type Side string

const (
	Client Side = "client"
	Server Side = "server"
)

// Layer says how a message is framed on the wire, so a replay can read the
// same unit back: a TPKT packet, or one DER TSRequest inside TLS.
type Layer string

const (
	LayerX224    Layer = "x224"
	LayerCredSSP Layer = "credssp"
	LayerRaw     Layer = "raw" // fixed-size PDUs such as the Early User Authorization Result

	// An RD Gateway's messages (MS-TSGU): the HTTP requests and answers of
	// its OUT and IN channels, and the gateway's packets inside them
	// (DATA packets are not recorded: the target's messages they carry
	// are).
	LayerHTTPOut Layer = "http-out"
	LayerHTTPIn  Layer = "http-in"
	LayerTSGU    Layer = "tsgu"
)

// Recorder sees the conversation as it happens: every message in wire order
// (CredSSP after TLS decryption) and the events between them. Record mode
// writes it as a fixture. Messages marked secret carry key material (the NTLM
// AUTHENTICATE, the sealed credentials): a recorder must not store them.
type Recorder interface {
	Message(from Side, layer Layer, b []byte, note string, secret bool)
	// Event kinds: "tls" (handshake done), "close" (peer ended the
	// connection), "truncated" (the recording's cap was reached).
	Event(kind, note string)
}
