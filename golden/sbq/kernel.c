/* Table-driven SBQ matrix product: golden.sbq.model.dot_reference for every (row, output) pair.
 *
 * out[n][o] = SBQ inner product of activation row n and weight row o over `lanes` lanes with queue
 * depth `depth`. golden/sbq/kernel.py prepares everything:
 *
 * - the table, one entry of `stride` int32 per (a, w) operand pair (4,096 entries for int8 x int4,
 *   65,536 for int8 x int8), from the ranked term pairs of a * w (n pairs, budget B, compensation C):
 *     e[0]      (computed << 16) + (delta & 0xffff): `computed` is the sum of the first B pairs
 *               (always computed); `delta` is the number of pairs offered to the queue,
 *               min(C, n - B), when n > B, and minus the spare cycles, n - B, when n < B;
 *     e[1 + p]  the sum of the first p offered pair values, p = 0..ceff (e[1] = 0);
 * sbq_table_matrix turns the int8 operands into entry indices itself: element k of the (n, o) pair
 * is entry a_idx[n][k] + w_idx[o][k], the length padded with zero operands to steps * lanes (element k
 * in lane k % lanes), the outputs padded to a multiple of GROUP with zero weights and interleaved by
 * GROUP: w_idx[og][k][j] for output og * GROUP + j.
 *
 * One lane of one (n, o) pair: the queue holds `fill` values. A multiplication pushes
 * p = min(delta, depth - fill) values when delta > 0 (the first offered ones; the rest are dropped,
 * nothing is popped in between) and pops min(-delta, fill) when delta < 0 (push and pop never both
 * happen: a push needs n > B, a pop n < B), so fill' = clamp(fill + delta, 0, depth) and
 * p = max(fill' - fill, 0). The queue is first-in first-out, so the popped values are all pushed
 * values but the last `fill` ones at the end: the lane's sum is
 *     sum(computed) + sum(pushed) - (the last `fill` pushed values),
 * and the last term is found by walking back over the recorded fill of each step. Sums are uint32:
 * their wrap-around is exact because a lane's sum fits in int32 (kernel.py bounds the steps; every
 * multiplication adds at most 20353 in magnitude, see docs/sbq.md).
 *
 * Outputs are processed GROUP = 8 at a time: with AVX2 (checked at run time) as one vector with
 * gathers from the table, otherwise by the scalar loop; both are tested equal to the reference.
 */
#include <stdint.h>
#include <stdlib.h>

#define GROUP 8

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define HAVE_X86 1
#else
#define HAVE_X86 0
#endif

/* Sum of the last `fill` values pushed into the queue of output j of the group. */
static uint32_t queued_sum(const int32_t *ar, const int32_t *wg, int64_t steps, int64_t lanes,
                           int64_t l, int j, const int32_t *hist, int32_t fill,
                           const int32_t *table) {
    uint32_t sum = 0;
    for (int64_t s = steps - 1; fill > 0 && s >= 0; s--) {
        int32_t after = hist[s * GROUP + j], before = s ? hist[(s - 1) * GROUP + j] : 0;
        int32_t p = after - before;
        if (p <= 0)
            continue;
        int32_t m = p < fill ? p : fill;
        int64_t k = s * lanes + l;
        const int32_t *e = table + ar[k] + wg[k * GROUP + j];
        sum += (uint32_t)e[1 + p] - (uint32_t)e[1 + p - m];
        fill -= m;
    }
    return sum;
}

/* Lane l of GROUP outputs, scalar: per output the lane's computed plus pushed sums and fill. */
static void lane_scalar(const int32_t *ar, const int32_t *wg, int64_t steps, int64_t lanes,
                        int64_t l, int32_t depth, const int32_t *table, int32_t *hist,
                        uint32_t *sums, int32_t *fills) {
    for (int j = 0; j < GROUP; j++) {
        uint32_t sum = 0;
        int32_t fill = 0;
        for (int64_t s = 0; s < steps; s++) {
            int64_t k = s * lanes + l;
            const int32_t *e = table + ar[k] + wg[k * GROUP + j];
            int32_t packed = e[0];
            int32_t delta = (int16_t)(packed & 0xffff);
            int32_t next = fill + delta;
            next = next < 0 ? 0 : next > depth ? depth : next;
            int32_t pushed = next > fill ? next - fill : 0;
            sum += (uint32_t)(packed >> 16) + (uint32_t)e[1 + pushed];
            hist[s * GROUP + j] = next;
            fill = next;
        }
        sums[j] = sum;
        fills[j] = fill;
    }
}

#if HAVE_X86
/* The same for all GROUP outputs at once: one AVX2 vector of int32 per state. */
__attribute__((target("avx2"))) static void lane_avx2(
        const int32_t *ar, const int32_t *wg, int64_t steps, int64_t lanes, int64_t l,
        int32_t depth, const int32_t *table, int32_t *hist, uint32_t *sums, int32_t *fills) {
    const __m256i zero = _mm256_setzero_si256(), top = _mm256_set1_epi32(depth);
    __m256i fill = zero, sum = zero;
    for (int64_t s = 0; s < steps; s++) {
        int64_t k = s * lanes + l;
        __m256i idx = _mm256_add_epi32(_mm256_set1_epi32(ar[k]),
                                       _mm256_loadu_si256((const __m256i *)(wg + k * GROUP)));
        __m256i packed = _mm256_i32gather_epi32(table, idx, 4);
        __m256i delta = _mm256_srai_epi32(_mm256_slli_epi32(packed, 16), 16);
        __m256i next = _mm256_min_epi32(_mm256_max_epi32(_mm256_add_epi32(fill, delta), zero), top);
        __m256i pushed = _mm256_max_epi32(_mm256_sub_epi32(next, fill), zero);
        __m256i values = _mm256_i32gather_epi32(table + 1, _mm256_add_epi32(idx, pushed), 4);
        sum = _mm256_add_epi32(sum, _mm256_add_epi32(_mm256_srai_epi32(packed, 16), values));
        _mm256_storeu_si256((__m256i *)(hist + s * GROUP), next);
        fill = next;
    }
    _mm256_storeu_si256((__m256i *)sums, sum);
    _mm256_storeu_si256((__m256i *)fills, fill);
}
#endif

/* 1 when the AVX2 path runs on this machine. */
int sbq_avx2_available(void) {
#if HAVE_X86
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") ? 1 : 0;
#else
    return 0;
#endif
}

/* simd: 1 for the AVX2 path where the CPU has it, 0 for the scalar path; threads: 1 for one
 * thread, 0 for OpenMP's default (every core). */
void sbq_lane_matrix(const int32_t *a_idx, const int32_t *w_idx, int64_t rows, int64_t groups,
                     int64_t steps, int64_t lanes, int64_t depth, const int32_t *table,
                     int64_t simd, int64_t threads, int64_t *out) {
    int64_t length = steps * lanes;
    int use_avx2 = simd && sbq_avx2_available();
    #pragma omp parallel if (threads != 1)
    {
        int32_t *hist = malloc(sizeof(int32_t) * GROUP * (steps ? steps : 1));
        #pragma omp for schedule(dynamic, 1) collapse(2)
        for (int64_t n = 0; n < rows; n++) {
            for (int64_t og = 0; og < groups; og++) {
                const int32_t *ar = a_idx + n * length;
                const int32_t *wg = w_idx + og * length * GROUP;
                int64_t total[GROUP] = {0};
                for (int64_t l = 0; l < lanes; l++) {
                    uint32_t sums[GROUP];
                    int32_t fills[GROUP];
#if HAVE_X86
                    if (use_avx2)
                        lane_avx2(ar, wg, steps, lanes, l, (int32_t)depth, table, hist, sums, fills);
                    else
#endif
                        lane_scalar(ar, wg, steps, lanes, l, (int32_t)depth, table, hist, sums, fills);
                    for (int j = 0; j < GROUP; j++) {
                        uint32_t lane = sums[j] - queued_sum(ar, wg, steps, lanes, l, j, hist, fills[j], table);
                        total[j] += (int32_t)lane;
                    }
                }
                for (int j = 0; j < GROUP; j++)
                    out[n * groups * GROUP + og * GROUP + j] = total[j];
            }
        }
        free(hist);
    }
}

/* The whole product from int8 operands a [rows][length] and w [outs][length] (weights within
 * wbits): the index arrays of sbq_lane_matrix, then out [rows][outs]. Returns 0, or -1 when out of
 * memory. */
int sbq_table_matrix(const int8_t *a, const int8_t *w, int64_t rows, int64_t outs, int64_t length,
                     int64_t lanes, int64_t wbits, int64_t stride, int64_t depth,
                     const int32_t *table, int64_t simd, int64_t threads, int64_t *out) {
    int64_t steps = (length + lanes - 1) / lanes, padded = steps * lanes;
    int64_t groups = (outs + GROUP - 1) / GROUP, half = (int64_t)1 << (wbits - 1);
    int32_t a_scale = (int32_t)(stride << wbits), w_scale = (int32_t)stride;
    int32_t *a_idx = malloc(sizeof(int32_t) * (rows * padded + 1));
    int32_t *w_idx = malloc(sizeof(int32_t) * (groups * padded * GROUP + 1));
    int64_t *wide = malloc(sizeof(int64_t) * (rows * groups * GROUP + 1));
    if (!a_idx || !w_idx || !wide) {
        free(a_idx); free(w_idx); free(wide);
        return -1;
    }
    for (int64_t n = 0; n < rows; n++)
        for (int64_t k = 0; k < padded; k++)
            a_idx[n * padded + k] = ((k < length ? (int32_t)a[n * length + k] : 0) + 128) * a_scale;
    for (int64_t og = 0; og < groups; og++)
        for (int64_t k = 0; k < padded; k++)
            for (int j = 0; j < GROUP; j++) {
                int64_t o = og * GROUP + j;
                int32_t v = (o < outs && k < length) ? (int32_t)w[o * length + k] : 0;
                w_idx[(og * padded + k) * GROUP + j] = (v + (int32_t)half) * w_scale;
            }
    sbq_lane_matrix(a_idx, w_idx, rows, groups, steps, lanes, depth, table, simd, threads, wide);
    for (int64_t n = 0; n < rows; n++)
        for (int64_t o = 0; o < outs; o++)
            out[n * outs + o] = wide[n * groups * GROUP + o];
    free(a_idx); free(w_idx); free(wide);
    return 0;
}
