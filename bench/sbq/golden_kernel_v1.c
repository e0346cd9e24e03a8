/* The previous golden SBQ kernel (until commit f73cb5d), kept only as the baseline of
 * python -m bench.sbq.golden_speed; the only change is the `threads` argument (1: one thread).
 *
 * Accelerated SBQ matrix product: the loop of golden.sbq.model.dot_reference over table lookups.
 *
 * out[n][o] = SBQ inner product of a[n][:] and w[o][:] (length L) over `lanes` lanes with budget B,
 * compensation C and queue depth D. Tables are built by golden/sbq/model.py (budget_tables) and
 * indexed by (a + 128) * 256 + (w + 128): computed sum of the first B pairs, the C offered pair
 * values, the number offered, and the spare cycles. Compiled and loaded by golden/sbq/kernel.py on
 * first use; tested equal to the reference.
 */
#include <stdint.h>

#define MAX_DEPTH 64

void sbq_dot_matrix(const int8_t *a, const int8_t *w, int64_t rows, int64_t outs, int64_t length,
                    int64_t lanes, int64_t comp, int64_t depth, const int32_t *computed,
                    const int32_t *offered, const int32_t *n_offered, const int32_t *spare,
                    int64_t threads, int64_t *out) {
    #pragma omp parallel for schedule(dynamic, 1) if (threads != 1)
    for (int64_t n = 0; n < rows; n++) {
        const int8_t *an = a + n * length;
        for (int64_t o = 0; o < outs; o++) {
            const int8_t *wo = w + o * length;
            int64_t total = 0;
            int64_t padded = ((length + lanes - 1) / lanes) * lanes;  /* zeros: no terms */
            for (int64_t lane = 0; lane < lanes; lane++) {
                int32_t queue[MAX_DEPTH];
                int64_t head = 0, fill = 0;
                for (int64_t k = lane; k < padded; k += lanes) {
                    int64_t idx = k < length ? ((int64_t)an[k] + 128) * 256 + ((int64_t)wo[k] + 128)
                                             : 128 * 256 + 128;
                    total += computed[idx];
                    int64_t push = n_offered[idx];
                    for (int64_t c = 0; c < push && fill < depth; c++) {
                        int64_t tail = head + fill;
                        queue[tail >= depth ? tail - depth : tail] = offered[idx * comp + c];
                        fill++;
                    }
                    int64_t pop = spare[idx];
                    for (int64_t p = 0; p < pop && fill > 0; p++) {
                        total += queue[head];
                        head = head + 1 == depth ? 0 : head + 1;
                        fill--;
                    }
                }
            }
            out[n * outs + o] = total;
        }
    }
}
