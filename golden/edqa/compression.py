"""Compression of the real shift errors of eDQA (the paper's Table 1 in our flow): the
``compression`` section of ``docs/results/edqa.json``.

    python -m golden.edqa.compression [-o docs/results/edqa.json] [--models digits_cnn,minilm]
                                      [--digits-batches N] [--minilm-batches 2]

The networks are quantized with eDQA at ``N = 3``, ``m = 3``, ``r = 0.4`` (the ranking of
:mod:`golden.edqa.ranking`, cached) and run on their evaluation data in batches of 64 (digits_cnn:
the test images in the order of the accuracy evaluation, all 9 batches by default; minilm: the
evaluation sentences sorted by token count as its evaluation batches them, the first
``--minilm-batches`` batches, padding tokens left out). In every batch, the input of every layer is
quantized (Algorithm 1, :func:`golden.edqa.model.quantize_layer`) and each *important channel*
gives one **packet**: the shift errors ``se`` of that channel over the batch (``L`` elements: images
x pixels, or tokens), in row order.

Each packet is compressed on its own by:

* ``huffman``: :func:`golden.edqa.huffman.encode_packet` (the hardware's packet: the codebook word, the
  ``B`` word and the payload words, all counted) and decoded back by ``decode_packet``;
* ``deflate`` (``zlib``, level 6, raw stream without the zlib header and checksum), ``lzma``
  (``lzma``, LZMA2 preset 6, raw stream without the ``.xz`` container) and ``zstd`` (``zstandard``,
  level 3, frame without magic number, checksum, content size or dictionary id). The bytes they get
  are the shift errors serialized two ways: ``packed``, ``m`` bits per error, most significant bit
  first, the last byte padded with zeros (the uncompressed form the ratio is measured against);
  ``bytes``, one byte per error.

**Compression ratio** = (sum over the packets of ``L * m`` bits, the shift errors stored
uncompressed at ``m`` bits each) / (sum over the packets of the compressed bits: ``32 x`` packet
words for Huffman, ``8 x`` output bytes for the others). Huffman also gets ``payload_ratio``: the same
without its two header words. ``entropy_ratio`` is ``m`` over the empirical entropy of each packet's
shift errors (bits per error, averaged over elements): the bound of any per-packet code that codes the
errors one by one.

**Time**: the wall time of each call (``time.perf_counter_ns``), per packet: ``encode_us`` (compress)
and ``decode_us`` (decompress, checked against the input), the mean over packets. The serialization
to bytes is outside the timing. Huffman is helper code in pure Python, the others are C libraries: the
times compare implementations, not algorithms, and are not the paper's latency (a whole batch's
inference with the compression on a GPU host).
"""

from __future__ import annotations

import argparse
import lzma
import sys
import time
import zlib

import numpy as np
import torch
from tqdm import tqdm

from qaccel.results import command_line, package_versions, section, write_section

from golden.evaluate import quantized
from golden.models import get_network
from golden.quant import EmulatedConv2d, emulated_layers

from .accuracy import checked_models, study_arguments
from .huffman import decode_packet, encode_packet
from .model import quantize_layer
from .ranking import DEFAULT_SENTENCES, network_ranking
from .scheme import EDQAScheme

SECTION = "compression"
N_BITS, M_EXTRA, RATIO = 3, 3, 0.4
BATCH = 64
_LZMA_FILTERS = [{"id": lzma.FILTER_LZMA2, "preset": 6}]


def _packed(se: np.ndarray, m: int) -> bytes:
    bits = (se[:, None] >> np.arange(m - 1, -1, -1)) & 1
    return np.packbits(bits.astype(np.uint8).reshape(-1)).tobytes()


def _deflate(data: bytes) -> bytes:
    co = zlib.compressobj(6, zlib.DEFLATED, -15)
    return co.compress(data) + co.flush()


def _inflate(blob: bytes, size: int) -> bytes:
    return zlib.decompress(blob, -15)


def _lzma(data: bytes) -> bytes:
    return lzma.compress(data, format=lzma.FORMAT_RAW, filters=_LZMA_FILTERS)


def _unlzma(blob: bytes, size: int) -> bytes:
    return lzma.decompress(blob, format=lzma.FORMAT_RAW, filters=_LZMA_FILTERS)


def _zstd_pair():
    import zstandard

    def compress(data: bytes) -> bytes:
        params = zstandard.ZstdCompressionParameters.from_level(
            3, source_size=len(data), format=zstandard.FORMAT_ZSTD1_MAGICLESS,
            write_checksum=0, write_content_size=0, write_dict_id=0)
        return zstandard.ZstdCompressor(compression_params=params).compress(data)

    decompressor = zstandard.ZstdDecompressor(format=zstandard.FORMAT_ZSTD1_MAGICLESS)

    def decompress(blob: bytes, size: int) -> bytes:
        return decompressor.decompress(blob, max_output_size=size)

    return compress, decompress


def byte_coders() -> dict:
    """Name -> (compress(bytes) -> bytes, decompress(bytes, size) -> bytes)."""
    return {"deflate": (_deflate, _inflate), "lzma": (_lzma, _unlzma), "zstd": _zstd_pair()}


def _batches(net, limit_batches):
    """``(inputs, row mask or None)`` per evaluation batch of 64."""
    if net.name == "digits_cnn":
        x = net.splits["test"][0]
        for i in range(0, len(x), BATCH)[:limit_batches]:
            yield (x[i : i + BATCH],), {}, None
        return
    from golden.models import sentences

    texts = sentences.splits()["eval"]
    lengths = [len(ids) for ids in net.tokenizer(texts, truncation=True, max_length=256)["input_ids"]]
    order = sorted(range(len(texts)), key=lambda i: (lengths[i], i))
    for start in range(0, len(texts), BATCH)[:limit_batches]:
        enc = net.tokenizer([texts[i] for i in order[start : start + BATCH]], padding=True, truncation=True,
                            max_length=256, return_tensors="pt")
        batch = {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"]}
        yield (), batch, enc["attention_mask"].reshape(-1).bool()


def collect_packets(model: str, limit_batches=None, sentences: int = DEFAULT_SENTENCES, progress: bool = True):
    """The shift-error packets of every important channel, as uint8 arrays, and a description."""
    net = get_network(model)
    ranking = network_ranking(net, N_BITS, sentences=sentences, progress=progress)
    qmodel = quantized(net, EDQAScheme(N_BITS, M_EXTRA, RATIO, ranking=ranking))
    layers = emulated_layers(qmodel)
    packets: list[np.ndarray] = []
    rows_mask = {}

    def hook(layer):
        def pre(module, args):
            x = args[0]
            x2d = x.permute(0, 2, 3, 1).reshape(-1, x.shape[1]) if isinstance(module, EmulatedConv2d) else x.reshape(-1, x.shape[-1])
            if rows_mask.get("mask") is not None:
                x2d = x2d[rows_mask["mask"]]
            extra = module.params.extra
            _, se = quantize_layer(x2d, extra["important"], N_BITS, M_EXTRA, extra["absmax"])
            for c in torch.nonzero(extra["important"]).flatten().tolist():
                packets.append(se[:, c].numpy().astype(np.uint8))
        return pre

    handles = [layer.register_forward_pre_hook(hook(layer)) for layer in layers.values()]
    batches = 0
    try:
        with torch.no_grad():
            for args, kwargs, mask in _batches(net, limit_batches):
                rows_mask["mask"] = mask
                qmodel(*args, **kwargs)
                batches += 1
    finally:
        for h in handles:
            h.remove()
    important = {name: int(layer.params.extra["important"].sum()) for name, layer in layers.items()}
    return packets, {"batches": batches, "batch": BATCH, "important_channels": important}


def _entropy_bits(se: np.ndarray, symbols: int) -> float:
    counts = np.bincount(se, minlength=symbols)
    p = counts[counts > 0] / len(se)
    return float(-(p * np.log2(p)).sum()) * len(se)


def measure(packets: list[np.ndarray], m: int = M_EXTRA, progress: bool = True, desc: str = "compress") -> dict:
    """Sizes and times of every coder on ``packets`` (the module docstring)."""
    symbols = 1 << m
    raw_bits = sum(len(p) * m for p in packets)
    hist = np.zeros(symbols, dtype=np.int64)
    for p in packets:
        hist += np.bincount(p, minlength=symbols)
    entropy = sum(_entropy_bits(p, symbols) for p in packets)
    stats = {"huffman": [0, 0, 0, 0]}  # bits, encode ns, decode ns, payload bits
    coders = byte_coders()
    for name in coders:
        for form in ("packed", "bytes"):
            stats[f"{name}/{form}"] = [0, 0, 0]
    items = tqdm(packets, desc=desc, unit="packet", file=sys.stderr) if progress else packets
    for se in items:
        values = se.tolist()
        t0 = time.perf_counter_ns()
        words = encode_packet(values, m)
        t1 = time.perf_counter_ns()
        back = decode_packet(words, len(values), m)
        t2 = time.perf_counter_ns()
        if back != values:
            raise AssertionError("a Huffman packet did not decode to its shift errors")
        h = stats["huffman"]
        h[0] += 32 * len(words)
        h[1] += t1 - t0
        h[2] += t2 - t1
        h[3] += words[1]
        for form, data in (("packed", _packed(se, m)), ("bytes", se.tobytes())):
            for name, (compress, decompress) in coders.items():
                t0 = time.perf_counter_ns()
                blob = compress(data)
                t1 = time.perf_counter_ns()
                back = decompress(blob, len(data))
                t2 = time.perf_counter_ns()
                if back != data:
                    raise AssertionError(f"{name} did not decompress to its input")
                s = stats[f"{name}/{form}"]
                s[0] += 8 * len(blob)
                s[1] += t1 - t0
                s[2] += t2 - t1
    n = max(1, len(packets))
    methods = {}
    for key, s in stats.items():
        methods[key] = {"bits": s[0], "ratio": round(raw_bits / s[0], 4) if s[0] else None,
                        "encode_us": round(s[1] / n / 1e3, 2), "decode_us": round(s[2] / n / 1e3, 2)}
    methods["huffman"]["payload_bits"] = stats["huffman"][3]
    methods["huffman"]["payload_ratio"] = round(raw_bits / stats["huffman"][3], 4) if stats["huffman"][3] else None
    elements = int(hist.sum())
    return {
        "packets": len(packets),
        "elements": elements,
        "mean_packet_length": round(elements / n, 1),
        "uncompressed_bits": raw_bits,
        "histogram": [round(int(v) / max(1, elements), 5) for v in hist],
        "entropy_ratio": round(raw_bits / entropy, 4) if entropy else None,
        "methods": methods,
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m golden.edqa.compression", description=__doc__.splitlines()[0])
    study_arguments(ap, SECTION)
    ap.add_argument("--digits-batches", type=int, help="digits_cnn test batches of 64 (default: all 9)")
    ap.add_argument("--minilm-batches", type=int, default=2, help="minilm evaluation batches of 64 sentences (default 2)")
    argv = sys.argv[1:] if argv is None else argv
    args = ap.parse_args(argv)
    models = checked_models(ap, args, SECTION, {"--digits-batches": args.digits_batches, "--minilm-batches": args.minilm_batches})
    if models is None:
        return 2
    data = {}
    for model in models:
        start = time.perf_counter()
        limit = args.minilm_batches if model == "minilm" else args.digits_batches
        packets, described = collect_packets(model, limit, args.sentences)
        data[model] = {**described, **measure(packets, desc=f"{model} packets"),
                       "seconds": round(time.perf_counter() - start, 1)}
        shown = ", ".join(f"{k} {v['ratio']}" for k, v in data[model]["methods"].items())
        print(f"{model}: {len(packets)} packets, {data[model]['elements']} shift errors; ratio: {shown}", flush=True)
    write_section(args.output, SECTION, section(
        command=command_line("python -m golden.edqa.compression", argv),
        tools={**package_versions("torch", "numpy", "zstandard"), "zlib": zlib.ZLIB_RUNTIME_VERSION},
        config={"models": models, "n_bits": N_BITS, "m_extra": M_EXTRA, "ratio": RATIO, "batch": BATCH,
                "digits_batches": args.digits_batches, "minilm_batches": args.minilm_batches,
                "ranking_sentences": args.sentences, "threads": args.threads,
                "coders": {"huffman": "golden.edqa.huffman packet (codebook word + B word + payload words)",
                           "deflate": "zlib level 6, raw (wbits=-15)", "lzma": "LZMA2 preset 6, FORMAT_RAW",
                           "zstd": "zstandard level 3, magicless frame, no checksum/content size/dict id"},
                "serialization": {"packed": "m bits per shift error, MSB first, zero-padded to a byte",
                                  "bytes": "one byte per shift error"},
                "ratio": "sum of L*m bits / sum of compressed bits, over all packets (one packet = one important "
                         "channel of one layer input over one batch)"},
        data=data,
    ))
    print(f"wrote section {SECTION!r} of {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
