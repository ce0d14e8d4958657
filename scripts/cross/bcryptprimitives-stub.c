/* Wine 8 has no bcryptprimitives.dll, whose ProcessPrng the Rust standard library (1.78+) imports
   on Windows; real Windows 10+ has it. test-platforms.sh builds this stand-in for the wine run only
   (it is never shipped): ProcessPrng filled from RtlGenRandom (advapi32's SystemFunction036). */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {
  while (len > 0) {
    ULONG chunk = len > 0x40000000 ? 0x40000000 : (ULONG)len;
    if (!SystemFunction036(data, chunk)) return FALSE;
    data += chunk;
    len -= chunk;
  }
  return TRUE;
}
