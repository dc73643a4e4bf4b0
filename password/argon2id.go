package password

//go:generate go run blamka_gen.go

import (
	"encoding/binary"
	"errors"
	"hash"
	"runtime"
	"sync"

	"golang.org/x/crypto/blake2b"
)

// An argon2id (RFC 9106, version 0x13) whose working memory comes from an
// arena the caller keeps, instead of golang.org/x/crypto/argon2, which
// allocates m KiB afresh for every hash. At 19 MiB a hash, clearing that
// memory was a fifth of the server's CPU under load, and every page the
// collector gave back faulted again on the next hash. The structure is
// x/crypto's (blake2b-long H', G with BlaMka, data-independent addressing
// for the first half of the first pass, one lane per thread, four sync
// points, the lanes' last blocks XORed together at the end), and the tests
// hold it to x/crypto bit for bit. Argon2i (imported hashes only) stays on
// x/crypto.

const (
	argon2BlockWords = 128 // 1 KiB blocks of 64-bit words
	argon2SyncPoints = 4   // slices per pass
	argon2TypeID     = 2   // y in H0: 0 argon2d, 1 argon2i, 2 argon2id
)

// argon2Block is one 1 KiB block of argon2's memory.
type argon2Block [argon2BlockWords]uint64

// argon2Scratch is what one G computation needs besides its inputs: t for
// the intermediate block (written before read, never cleared) and zero,
// an all-zero block for the address generator and the SSE kernels. It
// lives on a segment's stack, so it is cleared once per segment, not per
// block.
type argon2Scratch struct {
	t, zero argon2Block
}

// argon2Arena is the memory of argon2id hashes run one after another: each
// hash uses its first m blocks and leaves them as they are. It is never
// cleared between hashes, because argon2 writes every block before it
// reads it: each lane's first two blocks come from H', every later block
// of the first pass is G of blocks already written (it overwrites, it does
// not XOR; see fillSegment), and later passes XOR into blocks the first
// pass wrote. TestArgon2idPoisonedArena holds the implementation to that.
//
// An arena is not safe for concurrent use: the Hasher keeps one per slot.
// The zero value is ready; a nil *argon2Arena means "allocate afresh".
type argon2Arena struct {
	blocks []argon2Block
	// retainKiB, when not zero, is the most the arena keeps: a hash that
	// needs more (a stored hash above the Hasher's params, up to Verify's
	// 1 GiB) gets a buffer of its own, dropped after, so one odd row
	// cannot pin its memory to a slot for good.
	retainKiB uint32
	// hashing is the BLAKE2b state and buffers, kept with the memory
	// so that a hash allocates (almost) nothing.
	hashing *argon2Hashing
}

// argon2Hashing is BLAKE2b-512 and the buffers that H0 and H' feed it.
// They would escape to the heap on every hash (hash.Hash's methods take
// them through an interface), so an arena keeps one set.
type argon2Hashing struct {
	b2    hash.Hash // BLAKE2b-512, reset before each use
	block [argon2BlockWords * 8]byte
	chain [blake2b.Size]byte
	word  [24]byte
}

// hashingState returns a's BLAKE2b state, made at first use (a fresh one
// for a nil arena).
func (a *argon2Arena) hashingState() *argon2Hashing {
	if a != nil && a.hashing != nil {
		return a.hashing
	}
	b2, _ := blake2b.New512(nil) // cannot fail without a key
	h := &argon2Hashing{b2: b2}
	if a != nil {
		a.hashing = h
	}
	return h
}

// memory returns n blocks of working memory, contents undefined.
func (a *argon2Arena) memory(n uint32) []argon2Block {
	if a == nil {
		return make([]argon2Block, n)
	}
	if uint32(cap(a.blocks)) >= n {
		return a.blocks[:n]
	}
	if a.retainKiB != 0 && n > a.retainKiB {
		return make([]argon2Block, n)
	}
	// Grow to exactly n, not by doubling: the Hasher's params decide an
	// arena's size.
	a.blocks = make([]argon2Block, n)
	return a.blocks
}

// idKey is argon2id over password and salt at time passes, memory KiB and
// threads lanes, keyLen bytes long (golang.org/x/crypto/argon2's IDKey).
func (a *argon2Arena) idKey(password, salt []byte, time, memory uint32, threads uint8, keyLen uint32) ([]byte, error) {
	return a.argon2id(password, salt, nil, nil, time, memory, threads, keyLen)
}

// argon2id is the full function of RFC 9106 section 3.2, with its secret K
// and associated data X (Latch uses neither; the RFC's test vector does).
// Parameters outside the RFC's ranges are an error, not a panic.
func (a *argon2Arena) argon2id(password, salt, secret, data []byte, time, memory uint32, threads uint8, keyLen uint32) ([]byte, error) {
	switch {
	case time < 1:
		return nil, errors.New("password: argon2 time must be at least 1")
	case threads < 1:
		return nil, errors.New("password: argon2 threads must be at least 1")
	case keyLen < 4:
		return nil, errors.New("password: argon2 key must be at least 4 bytes")
	}
	lanes := uint32(threads)
	hs := a.hashingState()
	var h0 [blake2b.Size + 8]byte
	argon2InitHash(&h0, hs, password, salt, secret, data, time, memory, lanes, keyLen)

	// H0 takes m as given; the memory is m rounded down to a multiple of
	// 4p blocks, and at least 8p (RFC 9106 section 3.2 steps 1 and 4).
	blocks := memory / (argon2SyncPoints * lanes) * (argon2SyncPoints * lanes)
	blocks = max(blocks, 2*argon2SyncPoints*lanes)
	B := a.memory(blocks)

	argon2InitBlocks(B, &h0, lanes, hs)
	argon2Fill(B, time, lanes)
	return argon2Tag(B, lanes, keyLen, hs), nil
}

// argon2InitHash sets h0 to H0 (RFC 9106 section 3.2 step 1), leaving its
// last eight bytes for the block and lane numbers of step 5.
func argon2InitHash(h0 *[blake2b.Size + 8]byte, hs *argon2Hashing, password, salt, secret, data []byte, time, memory, lanes, keyLen uint32) {
	b2, params := hs.b2, hs.word[:]
	b2.Reset()
	binary.LittleEndian.PutUint32(params[0:4], lanes)
	binary.LittleEndian.PutUint32(params[4:8], keyLen)
	binary.LittleEndian.PutUint32(params[8:12], memory)
	binary.LittleEndian.PutUint32(params[12:16], time)
	binary.LittleEndian.PutUint32(params[16:20], argon2Version)
	binary.LittleEndian.PutUint32(params[20:24], argon2TypeID)
	b2.Write(params)
	for _, field := range [...][]byte{password, salt, secret, data} {
		binary.LittleEndian.PutUint32(params[:4], uint32(len(field)))
		b2.Write(params[:4])
		b2.Write(field)
	}
	b2.Sum(h0[:0])
}

// argon2InitBlocks writes each lane's first two blocks, H'(H0 || i || lane)
// for i = 0, 1 (step 5 and 6).
func argon2InitBlocks(B []argon2Block, h0 *[blake2b.Size + 8]byte, lanes uint32, hs *argon2Hashing) {
	bytes := &hs.block
	laneLen := uint32(len(B)) / lanes
	for lane := uint32(0); lane < lanes; lane++ {
		binary.LittleEndian.PutUint32(h0[blake2b.Size+4:], lane)
		for i := uint32(0); i < 2; i++ {
			binary.LittleEndian.PutUint32(h0[blake2b.Size:], i)
			blake2bLong(bytes[:], h0[:], hs)
			block := &B[lane*laneLen+i]
			for w := range block {
				block[w] = binary.LittleEndian.Uint64(bytes[w*8:])
			}
		}
	}
}

// argon2Fill runs the passes: per pass, four slices; per slice, one
// segment per lane, the lanes in parallel and the slices in order (a lane
// may reference other lanes' blocks only from finished slices).
func argon2Fill(B []argon2Block, time, lanes uint32) {
	for pass := uint32(0); pass < time; pass++ {
		for slice := uint32(0); slice < argon2SyncPoints; slice++ {
			if lanes == 1 {
				// The common case (p=1) runs on the caller's goroutine.
				argon2FillSegment(B, time, lanes, pass, slice, 0)
			} else {
				argon2FillSlice(B, time, lanes, pass, slice)
			}
		}
	}
}

// argon2FillSlice computes one slice's segments, one goroutine per lane
// beyond the first, which runs on the caller's. (A function of its own so
// that the goroutines' captured variables are allocated only when p > 1.)
func argon2FillSlice(B []argon2Block, time, lanes, pass, slice uint32) {
	var wg sync.WaitGroup
	for lane := uint32(1); lane < lanes; lane++ {
		wg.Go(func() { argon2FillSegment(B, time, lanes, pass, slice, lane) })
	}
	argon2FillSegment(B, time, lanes, pass, slice, 0)
	wg.Wait()
}

// argon2FillSegment computes one lane's blocks of one slice of one pass
// (RFC 9106 section 3.4). Argon2id takes its reference indices from a
// generated address stream (data-independent, as argon2i) in the first
// half of the first pass and from the previous block's first word
// (data-dependent, as argon2d) everywhere else.
func argon2FillSegment(B []argon2Block, time, lanes, pass, slice, lane uint32) {
	var addresses, input argon2Block
	var scratch argon2Scratch
	laneLen := uint32(len(B)) / lanes
	segmentLen := laneLen / argon2SyncPoints
	independent := pass == 0 && slice < argon2SyncPoints/2
	if independent {
		input[0] = uint64(pass)
		input[1] = uint64(lane)
		input[2] = uint64(slice)
		input[3] = uint64(len(B))
		input[4] = uint64(time)
		input[5] = argon2TypeID
	}
	index := uint32(0)
	if pass == 0 && slice == 0 {
		index = 2 // blocks 0 and 1 come from H'
		if independent {
			argon2NextAddresses(&addresses, &input, &scratch)
		}
	}
	// Version 0x13 XORs a new block into the old one in later passes; the
	// first pass overwrites, which is what lets the arena go uncleared.
	xor := pass > 0
	offset := lane*laneLen + slice*segmentLen + index
	for ; index < segmentLen; index, offset = index+1, offset+1 {
		prev := offset - 1
		if index == 0 && slice == 0 {
			prev += laneLen // a lane's first block follows its last
		}
		var pseudoRandom uint64
		if independent {
			if index%argon2BlockWords == 0 {
				argon2NextAddresses(&addresses, &input, &scratch)
			}
			pseudoRandom = addresses[index%argon2BlockWords]
		} else {
			pseudoRandom = B[prev][0]
		}
		ref := argon2RefIndex(pseudoRandom, laneLen, segmentLen, lanes, pass, slice, lane, index)
		compress(&B[offset], &B[prev], &B[ref], &scratch, xor)
		if index%argon2YieldEvery == argon2YieldEvery-1 {
			runtime.Gosched()
		}
	}
}

// argon2YieldEvery is how many blocks a hash computes between two yields
// to the scheduler (about a millisecond here). A hash runs for tens of
// milliseconds on a core of its own; with every core hashing (a flood),
// the short requests meanwhile (a 503 refusal, a token check) would wait
// for the scheduler to preempt it, every 10 ms: 200 sign-in clients saw
// their refusals' p99 at 67 ms, 47 ms yielding per segment, and under 50
// ms yielding every 1024 blocks (a Gosched with nothing else to run costs
// well under a microsecond; a hash at the default parameters yields 38
// times).
const argon2YieldEvery = 1024

// argon2NextAddresses computes the next 128 reference addresses,
// G(zero, G(zero, input)) after incrementing the counter in input[6].
// (G(zero, x) is G(x, zero): G reads only their XOR.)
func argon2NextAddresses(addresses, input *argon2Block, s *argon2Scratch) {
	input[6]++
	compress(addresses, input, &s.zero, s, false)
	compress(addresses, addresses, &s.zero, s, false)
}

// argon2RefIndex maps a pseudo-random word to the block a new block
// references (RFC 9106 section 3.4.1.2): J2 picks the lane (the own lane
// in the first slice of the first pass), J1 a block among those
// finished and not in the segment being computed by other lanes.
func argon2RefIndex(pseudoRandom uint64, laneLen, segmentLen, lanes, pass, slice, lane, index uint32) uint32 {
	refLane := uint32(pseudoRandom>>32) % lanes
	if pass == 0 && slice == 0 {
		refLane = lane
	}
	// area is the size of the reference set, start its first block.
	area, start := 3*segmentLen, ((slice+1)%argon2SyncPoints)*segmentLen
	if lane == refLane {
		area += index
	}
	if pass == 0 {
		area, start = slice*segmentLen, 0
		if slice == 0 || lane == refLane {
			area += index
		}
	}
	if index == 0 || lane == refLane {
		area-- // the previous block is already an input
	}
	x := pseudoRandom & 0xFFFFFFFF
	x = x * x >> 32
	x = uint64(area) * x >> 32
	return refLane*laneLen + uint32((uint64(start)+uint64(area)-(x+1))%uint64(laneLen))
}

// argon2Tag XORs the lanes' last blocks and returns H' of the result,
// keyLen bytes (RFC 9106 section 3.2 steps 7 and 8). It XORs into the
// last lane's last block, which nothing reads after.
func argon2Tag(B []argon2Block, lanes, keyLen uint32, hs *argon2Hashing) []byte {
	laneLen := uint32(len(B)) / lanes
	final := &B[len(B)-1]
	for lane := uint32(0); lane < lanes-1; lane++ {
		for w, v := range B[lane*laneLen+laneLen-1] {
			final[w] ^= v
		}
	}
	bytes := &hs.block
	for w, v := range final {
		binary.LittleEndian.PutUint64(bytes[w*8:], v)
	}
	key := make([]byte, keyLen)
	blake2bLong(key, bytes[:], hs)
	return key
}

// blake2bLong is argon2's variable-length hash H' (RFC 9106 section 3.3):
// BLAKE2b with the output length prepended, chained in 32-byte steps for
// outputs beyond 64 bytes. It uses hs's BLAKE2b-512 (in must not be
// hs.chain or hs.word).
func blake2bLong(out, in []byte, hs *argon2Hashing) {
	b2, length := hs.b2, hs.word[:4]
	binary.LittleEndian.PutUint32(length, uint32(len(out)))
	if len(out) <= blake2b.Size {
		h := b2
		if len(out) < blake2b.Size {
			h, _ = blake2b.New(len(out), nil) // 1..63: cannot fail
		}
		h.Reset()
		h.Write(length)
		h.Write(in)
		h.Sum(out[:0])
		return
	}
	// V1 = H^64(len || in); then V2..Vr from the previous V, 32 bytes of
	// each kept; the last, V(r+1), is as long as what remains.
	v := &hs.chain
	b2.Reset()
	b2.Write(length)
	b2.Write(in)
	b2.Sum(v[:0])
	copy(out, v[:32])
	rest := out[32:]
	for len(rest) > blake2b.Size {
		b2.Reset()
		b2.Write(v[:])
		b2.Sum(v[:0])
		copy(rest, v[:32])
		rest = rest[32:]
	}
	h := b2
	if len(rest) < blake2b.Size {
		h, _ = blake2b.New(len(rest), nil) // 33..63: cannot fail
	}
	h.Reset()
	h.Write(v[:])
	h.Sum(rest[:0])
}
