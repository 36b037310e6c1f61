package drift

import (
	"slices"
	"unsafe"
)

// sortFloats sorts finite values ascending. Large samples use an LSD radix
// sort on the IEEE-754 bits (four 16-bit digits): sorting is the largest
// cost of KS and Wasserstein on a million rows, and radix does it in four
// linear passes instead of n·log n comparisons. The keys are formed in
// place, so the only extra memory is one buffer of the same size.
func sortFloats(x []float64) {
	if len(x) < 1<<12 {
		slices.Sort(x)
		return
	}
	keys := unsafe.Slice((*uint64)(unsafe.Pointer(&x[0])), len(x))
	var counts [4][1 << 16]int
	for i, k := range keys {
		// Order-preserving key: flip every bit of negatives, the sign of
		// positives.
		if k>>63 == 1 {
			k = ^k
		} else {
			k |= 1 << 63
		}
		keys[i] = k
		counts[0][k&0xffff]++
		counts[1][k>>16&0xffff]++
		counts[2][k>>32&0xffff]++
		counts[3][k>>48]++
	}
	tmp := make([]uint64, len(x))
	src, dst := keys, tmp
	for pass := 0; pass < 4; pass++ {
		c := &counts[pass]
		shift := uint(16 * pass)
		if c[src[0]>>shift&0xffff] == len(src) {
			continue // every key has the same digit: nothing to move
		}
		sum := 0
		for d := range c {
			sum, c[d] = sum+c[d], sum
		}
		for _, k := range src {
			d := k >> shift & 0xffff
			dst[c[d]] = k
			c[d]++
		}
		src, dst = dst, src
	}
	if &src[0] != &keys[0] {
		copy(keys, src)
	}
	for i, k := range keys {
		if k>>63 == 1 {
			k &^= 1 << 63
		} else {
			k = ^k
		}
		keys[i] = k
	}
}
