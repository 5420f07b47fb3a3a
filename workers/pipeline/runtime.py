"""onnxruntime sessions with the worker's thread count.

Left to itself onnxruntime gives every session a thread per core; workers run one per core, so each
session is held to the worker's own threads (inter-op 1: the models are single chains of operators).
"""

from __future__ import annotations

from pathlib import Path


def session_options(threads: int):
    """The worker's thread count for a session (also given to PaddleOCR's own ONNX sessions)."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3  # onnxruntime warns about unused initialisers in these graphs
    return options


def session(model: Path, threads: int):
    import onnxruntime

    from workers.pipeline.graph import with_fused_hardswish

    return onnxruntime.InferenceSession(
        with_fused_hardswish(model), sess_options=session_options(threads), providers=["CPUExecutionProvider"]
    )


def run(session, batch):
    """The first output of `session` for one input tensor (the models here have one input each)."""
    return session.run(None, {session.get_inputs()[0].name: batch})[0]


def metadata(session) -> dict[str, str]:
    return dict(session.get_modelmeta().custom_metadata_map)
