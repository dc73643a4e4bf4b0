//go:build amd64 && gc && !purego

package password

import "golang.org/x/sys/cpu"

// On amd64, G runs on x/crypto's SSE kernels (argon2id_amd64.s): the
// portable Go one (compressGeneric) is about 30% slower than x/crypto,
// which would have cost more than reusing the memory saves.

// The kernels keep no pointer: without noescape every block passed to
// compress would move to the heap, 4 KiB per segment.

//go:noescape
func argon2BlamkaSSE(b *argon2Block)

//go:noescape
func argon2MixBlocksSSE2(out, a, b, c *argon2Block)

//go:noescape
func argon2XorBlocksSSE2(out, a, b, c *argon2Block)

// compress sets out to G(in1, in2) (xor false: argon2's first pass) or
// XORs G(in1, in2) into out (xor true: later passes, version 0x13); out
// may be in1 or in2.
func compress(out, in1, in2 *argon2Block, s *argon2Scratch, xor bool) {
	if !cpu.X86.HasSSSE3 { // the BlaMka kernel's PSHUFB
		compressGeneric(out, in1, in2, s, xor)
		return
	}
	argon2MixBlocksSSE2(&s.t, in1, in2, &s.zero) // R = in1 XOR in2
	argon2BlamkaSSE(&s.t)
	if xor {
		argon2XorBlocksSSE2(out, in1, in2, &s.t)
	} else {
		argon2MixBlocksSSE2(out, in1, in2, &s.t)
	}
}
