"""One rewrite of the PaddleOCR ONNX graphs before they are run: hard-swish as one operator.

The exported graphs spell every hard-swish activation as four operators, x * clip(x + 3, 0, 6) / 6.
onnxruntime does not recognise that spelling, so each runs as its own pass over memory and breaks
its blocked-layout convolutions apart (about a quarter of the recogniser's time went to those
passes and to layout reorders between them). Written as ONNX's own HardSwish operator
(x * max(0, min(1, x / 6 + 1 / 2)), the same function), onnxruntime fuses it into the convolution
before it. The weights are untouched; the readings are the same to the last character (the
recogniser's probabilities differ by float rounding, about 1e-7), checked by tests/test_pipeline.py.
The rewrite is done in memory when a worker starts; nothing is written to disk.
"""

from __future__ import annotations

from pathlib import Path

# HardSwish entered ONNX in opset 14; the PaddleOCR exports are opset 11 to 12.
HARDSWISH_OPSET = 14


def with_fused_hardswish(path: Path) -> bytes:
    """The model at `path`, serialised, with each x * clip(x + 3, 0, 6) / 6 made one HardSwish node.
    A model without that pattern comes back as it was."""
    import onnx
    from onnx import helper, version_converter

    model = onnx.load(str(path))
    matches = _hardswish_patterns(model.graph)
    if not matches:
        return model.SerializeToString()
    if _opset(model) < HARDSWISH_OPSET:
        model = version_converter.convert_version(model, HARDSWISH_OPSET)
    replaced = {removed: (x, out) for x, out, nodes in matches for removed in nodes}
    nodes = []
    for node in model.graph.node:
        hit = replaced.get(node.output[0]) if node.output else None
        if hit is None:
            nodes.append(node)
        elif node.output[0] == hit[1]:  # the pattern's last node: put the HardSwish in its place
            nodes.append(helper.make_node("HardSwish", [hit[0]], [hit[1]]))
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    onnx.checker.check_model(model)
    return model.SerializeToString()


def _opset(model) -> int:
    return max(entry.version for entry in model.opset_import if entry.domain in ("", "ai.onnx"))


def _hardswish_patterns(graph) -> list[tuple[str, str, tuple[str, ...]]]:
    """(input, output, outputs of the four nodes) for each Add(x, 3) -> Clip(0, 6) -> Mul(x) -> Div(6)
    whose intermediate results nothing else reads."""
    from onnx import numpy_helper

    constants = {
        node.output[0]: numpy_helper.to_array(node.attribute[0].t)
        for node in graph.node
        if node.op_type == "Constant" and node.attribute
    }
    constants.update({init.name: numpy_helper.to_array(init) for init in graph.initializer})
    readers: dict[str, list] = {}
    for node in graph.node:
        for name in node.input:
            readers.setdefault(name, []).append(node)

    def is_scalar(name: str, value: float) -> bool:
        array = constants.get(name)
        return array is not None and array.size == 1 and abs(float(array.reshape(-1)[0]) - value) < 1e-6

    def only_reader(node, op_type: str):
        found = readers.get(node.output[0], [])
        return found[0] if len(found) == 1 and found[0].op_type == op_type else None

    matches = []
    for add in graph.node:
        if add.op_type != "Add" or len(add.input) != 2 or not is_scalar(add.input[1], 3.0):
            continue
        x = add.input[0]
        clip = only_reader(add, "Clip")
        if (
            clip is None
            or len(clip.input) != 3
            or not (is_scalar(clip.input[1], 0.0) and is_scalar(clip.input[2], 6.0))
        ):
            continue
        mul = only_reader(clip, "Mul")
        if mul is None or x not in mul.input:
            continue
        div = only_reader(mul, "Div")
        if div is None or not is_scalar(div.input[1], 6.0):
            continue
        matches.append((x, div.output[0], (add.output[0], clip.output[0], mul.output[0], div.output[0])))
    return matches
