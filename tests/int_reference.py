"""Independent integer references for the tests: plain loops, no code shared with golden/."""

import numpy as np


def np_conv(fmap, w, stride, padding, dilation, pad_value):
    """Integer conv by explicit loops over output positions and kernel taps."""
    b, c, h, wd = fmap.shape
    o, _, kh, kw = w.shape
    p = np.pad(fmap.astype(np.int64), ((0, 0), (0, 0), (padding[0],) * 2, (padding[1],) * 2), constant_values=pad_value)
    ho = (h + 2 * padding[0] - dilation[0] * (kh - 1) - 1) // stride[0] + 1
    wo = (wd + 2 * padding[1] - dilation[1] * (kw - 1) - 1) // stride[1] + 1
    out = np.zeros((b, o, ho, wo), dtype=np.int64)
    for y in range(ho):
        for x in range(wo):
            for ky in range(kh):
                for kx in range(kw):
                    pix = p[:, :, y * stride[0] + ky * dilation[0], x * stride[1] + kx * dilation[1]]  # [b, c]
                    out[:, :, y, x] += pix @ w[:, :, ky, kx].astype(np.int64).T
    return out
