// ProcessPrng, the one function of Windows 10's bcryptprimitives.dll that Rust's standard library
// (1.78+) imports, for the Wine prefix of scripts/target-node.sh: Wine 8 (Debian 12) has no
// bcryptprimitives.dll, so Rust-built Node-API binaries (unrs-resolver, which jest 30 resolves
// modules with) do not load under it. Test tooling only: nothing in superlora uses it.
#include <windows.h>
#include <bcrypt.h>

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T size) {
  while (size > 0) {
    const ULONG chunk = size > 0x10000000 ? 0x10000000 : (ULONG)size;
    if (BCryptGenRandom(NULL, data, chunk, BCRYPT_USE_SYSTEM_PREFERRED_RNG) != 0) return FALSE;
    data += chunk;
    size -= chunk;
  }
  return TRUE;
}
