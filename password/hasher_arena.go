package password

// One argon2 arena per hash slot: a hash holding a slot takes an arena and
// gives it back before it lets the slot go, so the Hasher's memory stays
// slots x m as its doc says, allocated once (lazily, at a slot's first
// hash) and reused, instead of m allocated and cleared per hash.

// newArenaPool returns slots arenas for a Hasher at p. An arena keeps at
// most p's memory, so what the Hasher holds between hashes is slots x m,
// the bound its doc states. A stored hash costlier than p (an imported
// one, up to 64 MiB, until its first sign-in rehashes it at p) gets a
// one-off buffer, allocated as x/crypto would: rare, and not worth pinning
// 64 MiB to every slot for good.
func newArenaPool(slots int, p Params) chan *argon2Arena {
	pool := make(chan *argon2Arena, slots)
	for range slots {
		pool <- &argon2Arena{retainKiB: p.MemoryKiB}
	}
	return pool
}

// withArena runs fn with an arena of h's pool. Called only while holding a
// slot: there are as many arenas as slots, so the receive never waits.
func (h *Hasher) withArena(fn func(*argon2Arena)) {
	arena := <-h.arenas
	defer func() { h.arenas <- arena }()
	fn(arena)
}
