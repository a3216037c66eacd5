package negotiate

import "fmt"

// specName is how every enum of this package writes its String: the spec's
// name of v from names (a map keyed by the package's constants), or, for a
// value the package does not know, unknown formatted with v's number
// ("FAILURE_CODE_0x%08X"). Flag sets join the names of their bits instead.
func specName[T ~uint8 | ~uint16 | ~uint32](names map[T]string, v T, unknown string) string {
	if n, ok := names[v]; ok {
		return n
	}
	return fmt.Sprintf(unknown, uint64(v))
}
