/* Preloaded into the valgrind runs only. libavcodec pulls in libjxl and with it libhwy, whose
 * load-time constructor calls hwy::platform::TimerResolution(), which executes RDTSCP.
 * valgrind 3.19 refuses RDTSCP (SIGILL) on CPUs whose CPUID hides it, as many virtual
 * machines do, so the test would die before main. The timer only serves libhwy's own
 * benchmarks; decoding never reads it. */
unsigned long _ZN3hwy8platform15TimerResolutionEv(void);

unsigned long _ZN3hwy8platform15TimerResolutionEv(void)
{
  return 1;
}
