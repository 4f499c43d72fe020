/* Include last in a .c file whose float arithmetic must round once per
 * operation, as torch's separate element-wise kernels do: no a*b+c -> fma
 * contraction. GCC contracts across statements by default in gnu17 mode
 * (-ffp-contract=fast) on FMA targets (-march=native, aarch64); clang contracts
 * within an expression (-ffp-contract=on). The golden comparisons are bit-exact
 * only without contraction. */
#ifndef VKR_FP_STRICT_H
#define VKR_FP_STRICT_H

#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

#endif
