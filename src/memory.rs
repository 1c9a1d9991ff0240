//! Handing start-up's freed memory back to the system.
//!
//! Building the router also builds its OpenAPI description (`utoipa-axum`'s `routes!`): about
//! 1 MB of small allocations, dropped once rendered to JSON. jemalloc, the binary's allocator
//! (`src/main.rs`), keeps the blocks freed by a thread in that thread's cache and the freed pages
//! in its arenas until more allocations come along, which an idle server never sends: without
//! this the process holds about 1.2 MB more from start-up on (docs/performance.md).

use std::ptr::null_mut;

/// Flushes this thread's cache of freed blocks and returns every arena's unused pages. Call it
/// on the thread that did the start-up work, once that work is done. Where jemalloc is not the
/// global allocator (tests), it only touches jemalloc's own, unused heap.
pub fn release_start_up_memory() {
    for name in [c"thread.tcache.flush", c"arena.4096.purge"] {
        // SAFETY: both names are jemalloc "void" controls (4096 is `MALLCTL_ARENAS_ALL`): they
        // read and write nothing, so every pointer is null and every length zero.
        unsafe {
            tikv_jemalloc_sys::mallctl(name.as_ptr(), null_mut(), null_mut(), null_mut(), 0);
        }
    }
}
