"""Profiling harness: measures a function's model at (batch, SM %) points under MPS.

The pruning search that chooses the points is `dilu profile search` from @dilu/autoscaler; this
package measures each point it asks for, in a fresh process with that SM percentage, and writes
the FunctionProfile it returns (docs/contracts/profile-search-protocol.md).
"""

__version__ = "0.1.0"
