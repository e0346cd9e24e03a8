"""Export round trip: codes within their bit range, golden outputs equal to an independent
integer matmul / conv of the exported codes, npz round trip and CLI."""

import numpy as np
import pytest

from int_reference import np_conv

from golden import export, schemes


def _check_layer(f, wbits, abits, asym, rows):
    w, a, z = f["w_codes"].astype(np.int64), f["a_codes"].astype(np.int64), int(f["a_zero_point"])
    assert (int(f["wbits"]), int(f["abits"]), bool(f["asymmetric"])) == (wbits, abits, asym)
    assert w.min() >= -(2 ** (wbits - 1)) and w.max() <= 2 ** (wbits - 1) - 1
    if asym:
        assert f["a_codes"].dtype == np.uint8 and a.min() >= 0 and a.max() <= 2**abits - 1
        assert 0 <= z <= 2**abits - 1
    else:
        assert f["a_codes"].dtype == np.int8 and z == 0
        assert a.min() >= -(2 ** (abits - 1)) and a.max() <= 2 ** (abits - 1) - 1
    assert len(np.unique(a)) > 4 and len(np.unique(w)) > 4  # real data, not degenerate
    assert f["acc"].dtype == np.int64 and f["acc"].shape == (a.shape[0], w.shape[0])
    assert np.array_equal(f["acc"], (a - z) @ w.T)  # independent integer matmul
    assert f["w_scale"].shape == (w.shape[0],) and f["a_scale"] > 0
    if "a_fmap" in f:
        wk = w.reshape(w.shape[0], f["a_fmap"].shape[1], *f["kernel"])
        conv = np_conv(f["a_fmap"], wk, f["stride"], f["padding"], f["dilation"], z)
        conv -= z * w.sum(1)[None, :, None, None]
        assert np.array_equal(f["acc_fmap"], conv)
        per_img = f["acc_fmap"].shape[2] * f["acc_fmap"].shape[3]
        assert f["a_codes"].shape[0] == f["a_fmap"].shape[0] * per_img
    else:
        assert a.shape[0] == rows


@pytest.mark.parametrize("asym", [False, True])
def test_digits_w4a8_export_round_trip(tmp_path, asym):
    scheme = schemes.get_scheme("uniform", wbits=4, abits=8, asymmetric=asym)
    arrays = export.export_layers("digits_cnn", scheme, ["stem.conv", "block1.a.conv", "down.conv", "fc"], rows=32)
    path = export.save_npz(arrays, tmp_path / "d.npz")
    loaded = export.load_npz(path)
    assert list(arrays["layers"]) == ["stem.conv", "block1.a.conv", "down.conv", "fc"]
    for name in arrays["layers"]:
        for k, v in loaded[name].items():
            assert np.array_equal(v, arrays[f"{name}/{k}"]) and v.dtype == arrays[f"{name}/{k}"].dtype
        _check_layer(loaded[name], 4, 8, asym, rows=32)
    assert loaded["down.conv"]["acc_fmap"].shape == (2, 32, 4, 4)  # 32 rows = 2 images of 4x4


def test_minilm_w4a8_linear_export():
    scheme = schemes.get_scheme("uniform", wbits=4, abits=8)
    arrays = export.export_layers("minilm", scheme, ["bert.encoder.layer.0.attention.self.query"], rows=24)
    f = {k.split("/", 1)[1]: v for k, v in arrays.items() if "/" in k}
    assert f["w_codes"].shape == (384, 384) and f["a_codes"].shape == (24, 384)
    _check_layer(f, 4, 8, False, rows=24)


def test_minilm_asymmetric_export_nonzero_zero_point():
    """LayerNorm outputs are signed: the zero point is inside the code range, not at 0."""
    scheme = schemes.get_scheme("uniform", wbits=8, abits=8, asymmetric=True)
    arrays = export.export_layers("minilm", scheme, ["bert.encoder.layer.1.attention.self.value"], rows=8)
    f = {k.split("/", 1)[1]: v for k, v in arrays.items() if "/" in k}
    assert 0 < int(f["a_zero_point"]) < 255
    _check_layer(f, 8, 8, True, rows=8)


def test_export_cli(tmp_path, capsys):
    out = tmp_path / "fc.npz"
    assert export.main(["--model", "digits_cnn", "--scheme", "int8", "--layer", "fc", "--rows", "8", "-o", str(out)]) == 0
    f = export.load_npz(out)["fc"]
    _check_layer(f, 8, 8, False, rows=8)
    assert export.main(["--model", "digits_cnn", "--scheme", "int8", "--layer", "nope", "-o", str(out)]) == 2
    assert "no layer matches" in capsys.readouterr().err
