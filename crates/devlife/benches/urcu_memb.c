/*
 * The liburcu-memb peer of the gate benchmark (benches/gate.rs, `urcu_memb`).
 *
 * The loop runs in C so that liburcu's inline read side is measured as a C
 * program uses it: `_LGPL_SOURCE` makes urcu_memb_read_lock/unlock inline
 * code (a thread-local counter update and, with membarrier, a compiler
 * barrier), and no Rust-to-C call happens per pair. Each iteration also loads
 * the object's "unplugged" flag inside the section, like the gate's state
 * check, so both loops do the same work for their callers.
 */
#define _LGPL_SOURCE
#include <stdint.h>
#include <urcu/urcu-memb.h>

/* Runs `iters` read-side sections; returns how many saw the flag set. The
 * calling thread is registered with liburcu for the duration of the loop. */
uint64_t devlife_urcu_memb_loop(const int *unplugged, uint64_t iters)
{
	uint64_t seen = 0;
	urcu_memb_register_thread();
	for (uint64_t i = 0; i < iters; i++) {
		urcu_memb_read_lock();
		if (__builtin_expect(CMM_LOAD_SHARED(*unplugged), 0))
			seen++;
		urcu_memb_read_unlock();
	}
	urcu_memb_unregister_thread();
	return seen;
}

/* Whether liburcu found membarrier (the flavour's fast read side). */
int devlife_urcu_memb_has_membarrier(void)
{
	urcu_memb_register_thread();
	int r = urcu_memb_has_sys_membarrier;
	urcu_memb_unregister_thread();
	return r;
}
