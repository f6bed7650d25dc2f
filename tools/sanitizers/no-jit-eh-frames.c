/* vittm — preloaded into every test of `tools/run-tests.sh --sanitize`
 *
 * SPDX-License-Identifier: MIT
 *
 * lavapipe compiles each shader with LLVM's JIT, which registers the unwind
 * tables of the code it emits with libgcc (__register_frame). With ASan's
 * slow unwinder (fast_unwind_on_malloc=0, as the GLib-linked tests need), the
 * next malloc unwinds through libgcc's _Unwind_Find_FDE, which sorts the
 * registered tables under its lock and mallocs to do so; ASan unwinds that
 * malloc too and the thread waits forever on the lock it holds (GCC 12's
 * libgcc; GCC 13 looks the tables up without a lock). Shader code neither
 * throws nor calls back into code that unwinds, so its tables are not needed:
 * these no-op definitions, found before libgcc's, leave them unregistered.
 * Built by tools/run-tests.sh; never linked into vittm.
 */

void __register_frame(void *begin);
void __deregister_frame(void *begin);

void __register_frame(void *begin)
{
  (void)begin;
}

void __deregister_frame(void *begin)
{
  (void)begin;
}
