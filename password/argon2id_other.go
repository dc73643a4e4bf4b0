//go:build !amd64 || !gc || purego

package password

// compress sets out to G(in1, in2) (xor false: argon2's first pass) or
// XORs G(in1, in2) into out (xor true: later passes, version 0x13); out
// may be in1 or in2.
func compress(out, in1, in2 *argon2Block, s *argon2Scratch, xor bool) {
	compressGeneric(out, in1, in2, s, xor)
}
