"""The scheme registry: every quantization scheme by name, for ``golden.evaluate``, ``golden.export``
and the accelerators' studies.

Two kinds of entries:

* the uniform baselines, registered here: ``int8``, ``int4``, ``int2`` (weights and activations at
  that width, symmetric), ``w4a8`` (int4 weights, int8 activations: the base model of SBQ) and
  ``uniform`` (any ``wbits``/``abits``/``asymmetric``);
* each accelerator's schemes: for every name ``<acc>`` in :data:`qaccel.ACCELERATORS`, the package
  ``golden.<acc>`` declares ``SCHEMES = {name: factory}``. They are collected (imported with
  :mod:`importlib`) on the first look-up; an accelerator without a ``golden.<acc>`` package is an
  error that names it.

An ad-hoc scheme (an experiment, a test) is added with :func:`register_scheme`. The scheme interface
itself is in :mod:`golden.quant`, which imports nothing of this registry.
"""

from __future__ import annotations

import importlib
from typing import Callable

import qaccel

from .quant import Scheme, UniformScheme

__all__ = ["register_scheme", "get_scheme", "scheme_names"]

Factory = Callable[..., Scheme]

_BASELINES: dict[str, Factory] = {}  # filled at the end of this module
_ADHOC: dict[str, Factory] = {}  # register_scheme
_COLLECTED: dict[str, dict[str, Factory]] = {}  # accelerator -> its SCHEMES, imported once


def _check_entry(name, factory) -> None:
    if not name or not isinstance(name, str):
        raise ValueError("scheme name must be a non-empty string")
    if not callable(factory):
        raise TypeError(f"the factory of scheme {name!r} is not callable")


def _accelerator_schemes(acc: str) -> dict[str, Factory]:
    """The ``SCHEMES`` of ``golden.<acc>``, imported on first use."""
    if acc not in _COLLECTED:
        module_name = f"golden.{acc}"
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:  # the package exists but something it imports does not
                raise
            raise ModuleNotFoundError(
                f"accelerator {acc!r} of qaccel.ACCELERATORS has no golden package: {module_name} "
                f"(golden/{acc}/__init__.py declaring SCHEMES) is missing",
                name=module_name,
            ) from None
        declared = getattr(module, "SCHEMES", None)
        if not isinstance(declared, dict):
            raise TypeError(f"{module_name} must declare SCHEMES, a dict of scheme name -> factory")
        for name, factory in declared.items():
            _check_entry(name, factory)
        _COLLECTED[acc] = dict(declared)
    return _COLLECTED[acc]


def _table() -> dict[str, Factory]:
    """Every scheme by name: the baselines, then each accelerator's, then the ad-hoc ones (which may
    replace any). Two of the first kinds declaring one name is an error."""
    table = dict(_BASELINES)
    for acc in qaccel.ACCELERATORS:
        for name, factory in _accelerator_schemes(acc).items():
            if name in table:
                raise ValueError(f"scheme {name!r} of golden.{acc} is already declared by a baseline or another accelerator")
            table[name] = factory
    table.update(_ADHOC)
    return table


def register_scheme(name: str, factory: Factory) -> None:
    """Register ``factory(**options) -> Scheme`` under ``name`` (an ad-hoc scheme: it replaces a
    baseline or an accelerator's scheme of the same name, and re-registering replaces it)."""
    _check_entry(name, factory)
    _ADHOC[name] = factory


def get_scheme(name: str, **options) -> Scheme:
    """A new scheme instance; ``options`` go to the factory (e.g. ``wbits=4, abits=8``)."""
    table = _table()
    if name not in table:
        raise ValueError(f"unknown scheme {name!r}; known: {', '.join(sorted(table))}")
    scheme = table[name](**options)
    if not isinstance(scheme, Scheme):
        raise TypeError(f"factory of {name!r} returned {type(scheme).__name__}, not a Scheme")
    return scheme


def scheme_names() -> list[str]:
    """Every registered scheme name, sorted."""
    return sorted(_table())


def _preset(bits: int) -> Factory:
    """``int<bits>``: W and A at ``bits``, symmetric; named ``int<bits>`` unless options change it."""

    def factory(wbits: int = bits, abits: int = bits, asymmetric: bool = False):
        s = UniformScheme(wbits, abits, asymmetric)
        if (wbits, abits, asymmetric) == (bits, bits, False):
            s.name = f"int{bits}"
        return s

    return factory


_BASELINES.update({f"int{bits}": _preset(bits) for bits in (8, 4, 2)})
_BASELINES["uniform"] = UniformScheme
_BASELINES["w4a8"] = lambda asymmetric=False: UniformScheme(4, 8, asymmetric)  # the SBQ paper's base model
