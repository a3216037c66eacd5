package ntlm

import (
	"crypto/md5"
	"encoding/binary"
)

// ChannelBindingHash is the MsvAvChannelBindings value (MS-NLMP 2.2.2.1)
// for a channel whose application data is appData, for TLS
// "tls-server-end-point:" and the server certificate's hash (RFC 5929
// 4.1): the MD5 of a gss_channel_bindings_struct (RFC 2744 3.11) with no
// addresses.
func ChannelBindingHash(appData []byte) []byte {
	b := make([]byte, 16, 20+len(appData))
	b = binary.LittleEndian.AppendUint32(b, uint32(len(appData)))
	b = append(b, appData...)
	sum := md5.Sum(b)
	return sum[:]
}
