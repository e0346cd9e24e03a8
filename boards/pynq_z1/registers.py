"""The register map of the eDQA system on the PYNQ-Z1, defined once.

Each register is a class (:class:`Register`) with its byte offset, its access and its fields; the
register file of the hardware (:mod:`boards.pynq_z1.regfile`) is built from these classes, the host
driver (:mod:`boards.pynq_z1.driver`) encodes and decodes through them, and ``docs/pynq_z1.md``'s
table is printed from them (``python -m boards.pynq_z1 registers``). This module needs only the
standard library, so the driver runs on the board without Amaranth.

Access: ``rw`` (written by the host, read back), ``ro`` (set by the hardware; a write is refused
with SLVERR), ``wo`` (a write is an action, see the fields; a read gives 0). An offset no register
has answers both reads and writes with SLVERR. While a job runs, a write to an ``rw`` register or a
``start`` is refused with SLVERR and flags ``ERRORS.busy_write``; ``clear`` and ``ack`` are always
taken.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Field", "Register", "REGISTERS", "ADDR_WIDTH", "MAGIC", "VERSION", "by_name", "markdown"]

#: Address bits of the register file (a 256-byte window).
ADDR_WIDTH = 8
#: ``ID``: the ASCII bytes ``eDQA``.
MAGIC = 0x65445141
#: ``INFO.version``: bumped whenever this map changes.
VERSION = 1


@dataclass(frozen=True)
class Field:
    """Bits ``[offset + width - 1 : offset]`` of a register."""

    name: str
    offset: int
    width: int
    doc: str

    @property
    def mask(self) -> int:
        return ((1 << self.width) - 1) << self.offset


class Register:
    """A 32-bit register: subclasses set ``name``, ``offset``, ``access`` and ``fields``."""

    name: str
    offset: int
    access: str
    fields: tuple[Field, ...]

    @classmethod
    def field(cls, name: str) -> Field:
        for f in cls.fields:
            if f.name == name:
                return f
        raise KeyError(f"{cls.name} has no field {name!r} (fields: {', '.join(f.name for f in cls.fields)})")

    @classmethod
    def encode(cls, **values: int) -> int:
        """The register word with each named field set (others 0); ``ValueError`` if a value does not fit."""
        word = 0
        for name, value in values.items():
            f = cls.field(name)
            value = int(value)
            if not 0 <= value < (1 << f.width):
                raise ValueError(f"{cls.name}.{name} = {value} does not fit in {f.width} bits")
            word |= value << f.offset
        return word

    @classmethod
    def decode(cls, word: int) -> dict[str, int]:
        """Every field of ``word``, by name."""
        return {f.name: (word >> f.offset) & ((1 << f.width) - 1) for f in cls.fields}

    @classmethod
    def diagram(cls) -> str:
        """A bit diagram: one line per field, from the most significant bit down."""
        lines = [f"{cls.name} @ 0x{cls.offset:02X} ({cls.access})"]
        for f in sorted(cls.fields, key=lambda f: -f.offset):
            bits = f"[{f.offset}]" if f.width == 1 else f"[{f.offset + f.width - 1}:{f.offset}]"
            lines.append(f"  {bits:>8} {f.name:<16} {f.doc}")
        return "\n".join(lines)


def _check(register: type[Register]) -> type[Register]:
    used = 0
    for f in register.fields:
        if f.offset < 0 or f.width < 1 or f.offset + f.width > 32:
            raise ValueError(f"{register.name}.{f.name} lies outside 32 bits")
        if used & f.mask:
            raise ValueError(f"{register.name}.{f.name} overlaps another field")
        used |= f.mask
    if register.access not in ("rw", "ro", "wo") or register.offset % 4 or register.offset >= 1 << ADDR_WIDTH:
        raise ValueError(f"{register.name}: bad access or offset")
    return register


@_check
class Id(Register):
    """Identifies the design: the ASCII bytes ``eDQA``."""
    name, offset, access = "ID", 0x00, "ro"
    fields = (Field("magic", 0, 32, "0x65445141"),)


@_check
class Info(Register):
    """Parameters the bitstream was built with (N and m are fixed in hardware)."""
    name, offset, access = "INFO", 0x04, "ro"
    fields = (
        Field("n_bits", 0, 4, "N, target bits"),
        Field("m_extra", 4, 4, "m, extra bits of an important channel"),
        Field("version", 8, 8, "version of this register map"),
    )


@_check
class Limits(Register):
    """The longest channel and the longest packet a job may have."""
    name, offset, access = "LIMITS", 0x08, "ro"
    fields = (
        Field("max_length", 0, 16, "most elements of a channel"),
        Field("max_packet_words", 16, 16, "most 32-bit words of a packet (the packet buffer)"),
    )


@_check
class Control(Register):
    """Actions: write 1 to a bit."""
    name, offset, access = "CONTROL", 0x0C, "wo"
    fields = (
        Field("start", 0, 1, "start the job that JOB..PACKET_WORDS describe (refused while busy)"),
        Field("clear", 1, 1, "clear ERRORS"),
        Field("ack", 2, 1, "clear STATUS.done and the interrupt"),
    )


@_check
class Status(Register):
    """Where the system stands."""
    name, offset, access = "STATUS", 0x10, "ro"
    fields = (
        Field("busy", 0, 1, "a job runs"),
        Field("done", 1, 1, "the last job ended (cleared by start and ack); drives IRQ_F2P[0]"),
        Field("error", 2, 1, "some ERRORS flag is set"),
    )


@_check
class Errors(Register):
    """Sticky error flags, cleared by ``CONTROL.clear``. A refused start sets a flag of its cause and
    starts nothing; the others flag a job that ran to its end with damaged data."""
    name, offset, access = "ERRORS", 0x14, "ro"
    fields = (
        Field("busy_write", 0, 1, "a register write or start while busy was refused"),
        Field("bad_length", 1, 1, "start refused: LENGTH is 0 or over LIMITS.max_length"),
        Field("bad_scale", 2, 1, "start refused: SCALE is not a positive, finite, non-zero float32"),
        Field("misaligned", 3, 1, "start refused: a buffer address the job uses is not a multiple of 8"),
        Field("bad_packet_words", 4, 1, "start refused: PACKET_WORDS under 2 or over LIMITS.max_packet_words"),
        Field("nonfinite", 5, 1, "quantize: an input was NaN or infinite (its q and shift error are 0)"),
        Field("bad_codebook", 6, 1, "de-quantize: the packet's codebook is not a complete prefix code"),
        Field("truncated", 7, 1, "de-quantize: the packet ended before the channel"),
        Field("overlong", 8, 1, "de-quantize: the packet has words after the channel"),
        Field("corrupt", 9, 1, "de-quantize: the packet's bit count B does not match its codes"),
        Field("q_range", 10, 1, "de-quantize: an input byte is outside the N-bit range of q"),
        Field("read_error", 11, 1, "an AXI read from DDR answered SLVERR or DECERR"),
        Field("write_error", 12, 1, "an AXI write to DDR answered SLVERR or DECERR"),
    )


@_check
class Job(Register):
    """What the next start does."""
    name, offset, access = "JOB", 0x18, "rw"
    fields = (
        Field("mode", 0, 1, "0: quantize SRC into DST and PACKET; 1: de-quantize SRC and PACKET into DST"),
        Field("important", 1, 1, "the channel is important (N + m bits, a packet of shift errors)"),
    )


@_check
class Length(Register):
    name, offset, access = "LENGTH", 0x1C, "rw"
    fields = (Field("length", 0, 16, "elements of the channel, 1..LIMITS.max_length"),)


@_check
class Scale(Register):
    name, offset, access = "SCALE", 0x20, "rw"
    fields = (Field("bits", 0, 32, "float32: 1/delta to quantize, delta to de-quantize (delta_Nm if important)"),)


@_check
class Src(Register):
    name, offset, access = "SRC", 0x24, "rw"
    fields = (Field("address", 0, 32, "quantize: LENGTH float32; de-quantize: LENGTH int8 q (physical, 8-aligned)"),)


@_check
class Dst(Register):
    name, offset, access = "DST", 0x28, "rw"
    fields = (Field("address", 0, 32, "quantize: LENGTH int8 q; de-quantize: LENGTH float32 (physical, 8-aligned)"),)


@_check
class Packet(Register):
    name, offset, access = "PACKET", 0x2C, "rw"
    fields = (Field("address", 0, 32, "the packet's 32-bit words, written (quantize) or read (physical, 8-aligned)"),)


@_check
class PacketWords(Register):
    name, offset, access = "PACKET_WORDS", 0x30, "rw"
    fields = (Field("words", 0, 16, "de-quantize, important: the packet's words, 2..LIMITS.max_packet_words"),)


@_check
class PacketOut(Register):
    name, offset, access = "PACKET_OUT", 0x34, "ro"
    fields = (Field("words", 0, 16, "words of the packet the last quantize wrote (0: none)"),)


@_check
class Cycles(Register):
    name, offset, access = "CYCLES", 0x38, "ro"
    fields = (Field("cycles", 0, 32, "FCLK0 cycles from the last start to its done (saturates)"),)


REGISTERS: tuple[type[Register], ...] = (Id, Info, Limits, Control, Status, Errors, Job, Length, Scale, Src, Dst,
                                         Packet, PacketWords, PacketOut, Cycles)


def by_name(name: str) -> type[Register]:
    for register in REGISTERS:
        if register.name == name:
            return register
    raise KeyError(f"no register {name!r}")


def markdown() -> str:
    """The register map as a Markdown table and bit diagrams (for ``docs/pynq_z1.md``)."""
    rows = ["| offset | register | access | fields |", "|---|---|---|---|"]
    for r in REGISTERS:
        fields = "; ".join(
            f"`{f.name}` [{f.offset}]" if f.width == 1 else f"`{f.name}` [{f.offset + f.width - 1}:{f.offset}]"
            for f in r.fields)
        rows.append(f"| 0x{r.offset:02X} | `{r.name}` | {r.access} | {fields} |")
    diagrams = "\n\n".join(r.diagram() for r in REGISTERS)
    return "\n".join(rows) + "\n\n```\n" + diagrams + "\n```\n"


_offsets = [r.offset for r in REGISTERS]
if len(set(_offsets)) != len(_offsets):
    raise RuntimeError("two registers share an offset")
