"""``thidua bench decoder``: the codec's Avro decoding (fastavro) beside a candidate C decoder (``cavro``), A/B in
one process on the generated history's real event bodies: CPU per event (median of alternating runs) and whether
the candidate's output is identical (``==`` and ``repr``) on every body. The candidate is not a dependency: the
evaluation is in docs/benchmarks.md ("Avro decoder evaluation"); without it installed only fastavro is measured.
"""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console

from services.kernel.codec import AvroCodec, split_header
from services.kernel.settings import Settings

from .common import Row, fresh_node, peak_rss_mb, print_rows
from .dataset import load, spool, temporary_folder
from .generator import Scale

FASTAVRO = "fastavro (the codec)"
CANDIDATE = "cavro (candidate)"


def run_decoder(settings: Settings, scale: Scale, repeat: int, console: Console) -> list[Row]:
    """Decode every body of the history ``repeat`` times with each decoder, alternating; print and return the rows."""
    with temporary_folder() as tmp:
        history = spool(settings, scale, Path(tmp))
        with fresh_node(settings, "sqlite") as (node, engine, *_):
            load(engine, history)
            bodies, position = [], 0
            while stored := node.store.read_all(position, 5000):
                bodies += [s.body for s in stored]
                position = stored[-1].position
            codec = node.codec
    decoders: dict[str, Callable[[bytes], Any]] = {FASTAVRO: lambda body: codec.decode(body).datum}
    if importlib.util.find_spec("cavro") is not None:
        decoders[CANDIDATE] = cavro_decoder(codec)
        differ = sum(1 for body in bodies if not _same(codec.decode(body).datum, decoders[CANDIDATE](body)))
        console.print(f"cavro output identical to fastavro's on {len(bodies) - differ:,} of {len(bodies):,} bodies")
    else:
        console.print("cavro is not installed (`pip install cavro`): fastavro only")
    seconds: dict[str, list[float]] = {name: [] for name in decoders}
    for _ in range(repeat):
        for name, decode in decoders.items():
            started = time.process_time()
            for body in bodies:
                decode(body)
            seconds[name].append(time.process_time() - started)
    rows = [
        Row("cpu", name, len(bodies), runs, peak_rss_mb(), None if name == FASTAVRO else FASTAVRO)
        for name, runs in seconds.items()
    ]
    print_rows(console, f"thidua bench decoder: {len(bodies):,} event bodies, CPU seconds", rows)
    return rows


def cavro_decoder(codec: AvroCodec) -> Callable[[bytes], Any]:
    """``codec.decode(body).datum`` done by cavro: the writer schema by fingerprint, resolved to the current one."""
    cavro = importlib.import_module("cavro")  # the candidate: installed by hand for the evaluation, not a dependency

    options = cavro.DEFAULT_OPTIONS.replace(record_decodes_to_dict=True, return_uuid_object=True)
    readers: dict[bytes, Any] = {}

    def decode(body: bytes) -> Any:
        fingerprint, rest = split_header(body)
        reader = readers.get(fingerprint)
        if reader is None:
            writer = codec.catalog.by_fingerprint(fingerprint)
            if writer is None:
                raise KeyError(fingerprint.hex())
            current = codec.catalog.current(writer.fullname)
            written = cavro.Schema(writer.schema, options=options)
            reader = written if current is writer else cavro.Schema(current.schema, options=options)
            reader = readers[fingerprint] = reader if reader is written else reader.reader_for_writer(written)
        return reader.binary_decode(rest)

    return decode


def _same(a: Any, b: Any) -> bool:
    return bool(a == b) and repr(a) == repr(b)
