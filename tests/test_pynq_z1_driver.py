"""The register map and the host driver of the PYNQ-Z1 eDQA system, without a simulator: the map's
encoding, the driver's scales against the golden model's, and its checks and errors on a register
model that answers like the hardware."""

import numpy as np
import pytest

from boards.pynq_z1 import registers as regs
from boards.pynq_z1.driver import EdqaDevice, EdqaError, scales_of
from golden.edqa import scales


def test_fields_fit_and_never_overlap():
    for register in regs.REGISTERS:
        used = 0
        for field in register.fields:
            assert 0 <= field.offset and field.offset + field.width <= 32
            assert used & field.mask == 0, f"{register.name}.{field.name}"
            used |= field.mask
    assert len({r.offset for r in regs.REGISTERS}) == len(regs.REGISTERS)


def test_encode_and_decode_are_inverse_and_refuse_what_does_not_fit():
    word = regs.Errors.encode(bad_scale=1, corrupt=1)
    assert word == (1 << regs.Errors.field("bad_scale").offset) | (1 << regs.Errors.field("corrupt").offset)
    decoded = regs.Errors.decode(word)
    assert [name for name, value in decoded.items() if value] == ["bad_scale", "corrupt"]
    assert regs.Limits.decode(regs.Limits.encode(max_length=4096, max_packet_words=898)) == {"max_length": 4096, "max_packet_words": 898}
    with pytest.raises(ValueError, match=r"^LENGTH.length = 65536 does not fit in 16 bits$"):
        regs.Length.encode(length=65536)
    with pytest.raises(KeyError, match="JOB has no field 'start'"):
        regs.Job.encode(start=1)


def test_markdown_shows_every_register_and_field():
    text = regs.markdown()
    for register in regs.REGISTERS:
        assert f"`{register.name}`" in text
        for field in register.fields:
            assert f"`{field.name}`" in text


@pytest.mark.parametrize("n_bits,m_extra", [(3, 3), (8, 1), (2, 2), (4, 3)])
def test_driver_scales_equal_the_golden_model(n_bits, m_extra):
    rng = np.random.default_rng(n_bits * 10 + m_extra)
    values = [float(np.float32(v)) for v in [1.0, 0.5, 3.0, 1e-30, 1e-44, 3e38, 0.1, *10 ** rng.uniform(-20, 20, 200)]]
    for absmax in values:
        try:
            want = scales(n_bits, m_extra, absmax)
        except ValueError:
            with pytest.raises(ValueError):
                scales_of(n_bits, m_extra, absmax)
            continue
        got = scales_of(n_bits, m_extra, absmax)
        for name in ("delta_n", "delta_nm", "inv_n", "inv_nm"):
            assert np.float32(got[name]).view(np.uint32) == np.float32(getattr(want, name)).view(np.uint32), (absmax, name)


class _Buffer(np.ndarray):
    def __new__(cls, shape, dtype, address):
        array = np.zeros(shape, dtype).view(cls)
        array.physical_address = address
        return array

    def flush(self):
        pass

    def invalidate(self):
        pass


class RegisterModel:
    """Answers like the hardware's register file; a start is refused with ``refuse`` (flag names)
    or ends at once (``done``) with the flags ``flag_after``."""

    def __init__(self, *, magic=regs.MAGIC, version=regs.VERSION, refuse=(), flag_after=()):
        self.values = {regs.Id.offset: magic,
                       regs.Info.offset: regs.Info.encode(n_bits=3, m_extra=3, version=version),
                       regs.Limits.offset: regs.Limits.encode(max_length=64, max_packet_words=16)}
        self.refuse, self.flag_after, self.writes = refuse, flag_after, []
        self._next = 0x1000

    def read(self, offset):
        return self.values.get(offset, 0)

    def write(self, offset, value):
        self.writes.append((offset, value))
        if offset == regs.Control.offset:
            action = regs.Control.decode(value)
            if action["clear"]:
                self.values[regs.Errors.offset] = 0
            if action["start"]:
                flags = self.refuse or self.flag_after
                self.values[regs.Errors.offset] = regs.Errors.encode(**{name: 1 for name in flags})
                self.values[regs.Status.offset] = regs.Status.encode(done=int(not self.refuse), error=int(bool(flags)))
                self.values[regs.Cycles.offset] = 77
        else:
            self.values[offset] = value

    def allocate(self, shape, dtype):
        buffer = _Buffer(shape, dtype, self._next)
        self._next += 4096
        return buffer


def test_driver_refuses_a_design_it_does_not_know():
    with pytest.raises(RuntimeError, match=r"no eDQA system at this address \(ID reads 0x00000000, expected 0x65445141\)"):
        EdqaDevice(RegisterModel(magic=0))
    with pytest.raises(RuntimeError, match="register map is version 9"):
        EdqaDevice(RegisterModel(version=9))


def test_driver_checks_its_arguments():
    device = EdqaDevice(RegisterModel())
    assert (device.n_bits, device.m_extra, device.max_length, device.max_packet_words) == (3, 3, 64, 16)
    with pytest.raises(TypeError, match="x must be a float32 array, got float64"):
        device.quantize_channel(np.zeros(4), absmax=1.0, important=True)
    with pytest.raises(ValueError, match=r"x must be 1-D with 1..64 elements, got shape \(65,\)"):
        device.quantize_channel(np.zeros(65, np.float32), absmax=1.0, important=True)
    with pytest.raises(ValueError, match="absmax must be a positive finite float32"):
        device.quantize_channel(np.zeros(4, np.float32), absmax=0.0, important=True)
    with pytest.raises(ValueError, match=r"q holds values outside the 3-bit range -4..3"):
        device.dequantize_channel(np.array([4], np.int8), [0, 0], absmax=1.0, important=False)
    with pytest.raises(ValueError, match="a packet has 2..16 words, got 1"):
        device.dequantize_channel(np.array([1], np.int8), [0], absmax=1.0, important=True)
    with pytest.raises(ValueError, match="2 channels but 3 importance flags"):
        device.quantize_layer(np.zeros((2, 4), np.float32), absmax=1.0, important=[1, 0, 1])


def test_driver_programs_the_job_and_reads_the_cycles():
    model = RegisterModel()
    device = EdqaDevice(model)
    device.quantize_channel(np.ones(8, np.float32), absmax=2.0, important=True)
    written = dict(model.writes)
    assert written[regs.Job.offset] == regs.Job.encode(mode=0, important=1)
    assert written[regs.Length.offset] == 8
    assert written[regs.Scale.offset] == int(scales_of(3, 3, 2.0)["inv_nm"].view(np.uint32))
    assert model.writes[-1] == (regs.Control.offset, regs.Control.encode(start=1))
    assert device.last_cycles == 77


def test_driver_raises_the_flags_of_a_refused_or_damaged_job():
    device = EdqaDevice(RegisterModel(refuse=("bad_scale",)))
    with pytest.raises(EdqaError, match="the eDQA hardware refused the job: bad_scale") as caught:
        device.quantize_channel(np.ones(8, np.float32), absmax=2.0, important=False)
    assert caught.value.flags == ["bad_scale"]
    device = EdqaDevice(RegisterModel(flag_after=("truncated", "corrupt")))
    with pytest.raises(EdqaError, match="the eDQA hardware flagged the job: truncated, corrupt"):
        device.dequantize_channel(np.zeros(8, np.int8), [0, 0, 0], absmax=2.0, important=True)
