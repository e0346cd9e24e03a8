"""What every layer of qaccel shares: the table of accelerators, the results-file schema, tool versions.

``ACCELERATORS`` is the one table a new accelerator joins. Each name ``<acc>`` in it is looked up by
convention in every layer, with :mod:`importlib`, by the layer's own collector:

====================  ===========================================  ==========================
module                declares                                     collected by
====================  ===========================================  ==========================
``hdl.<acc>``         ``DESIGNS``: list of :class:`hdl.design.Design`  :mod:`hdl.registry`
``golden.<acc>``      ``SCHEMES``: name -> scheme factory          :mod:`golden.schemes`
``sim.<acc>``         ``BENCHES``: design name -> cocotb module    :mod:`sim.benches`
``bench.<acc>``       ``COST``: a :class:`bench.plan.CostPlan`      :mod:`bench.cost`
====================  ===========================================  ==========================

Imports run one way: a collector imports the modules it collects, never the reverse, and this
package imports nothing of the project. ``docs/adding_an_accelerator.md`` lists the files a new
accelerator writes.
"""

__all__ = ["ACCELERATORS"]

#: The accelerators, in the order tools list them.
ACCELERATORS: tuple[str, ...] = ("sbq", "edqa", "hap", "waps")
