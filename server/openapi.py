"""The API described for clients and tools: GET /openapi.json.

Checked against the running server by fuzzing it (tests/test_openapi.py): every response it gives
must be one this document allows.
"""

from __future__ import annotations

from ocrfarm import options

JOB_ID = {"type": "string", "pattern": "^[0-9a-f]{32}$"}

ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
        },
    },
}

LINE = {
    "type": "object",
    "required": ["text", "confidence", "box"],
    "properties": {
        "text": {"type": "string"},
        "confidence": {"type": "number", "minimum": 0, "maximum": 1},
        "box": {
            "type": "array",
            "minItems": 4,
            "maxItems": 4,
            "items": {"type": "array", "minItems": 2, "maxItems": 2, "items": {"type": "number"}},
        },
        "page": {"type": "integer", "minimum": 1},
    },
}


BOX = LINE["properties"]["box"]
CARD_FIELD = {
    "type": "object",
    "required": ["text", "confidence", "box"],
    "properties": {
        "text": {
            "type": "string",
            "description": "as read (the number: corrected when its check then holds)",
        },
        "confidence": {"type": "number", "minimum": 0, "maximum": 1},
        "box": BOX,
        "value": {"description": "birth_date: YYYY-MM-DD; validity_period: {from, until, long_term}"},
        "lines": {"type": "array", "items": {"type": "string"}, "description": "address: its lines"},
    },
}
FRONT_FIELDS = ("name", "sex", "ethnicity", "birth_date", "address", "number")
BACK_FIELDS = ("issuing_authority", "validity_period")
CARD = {
    "type": "object",
    "required": ["page", "side", "turned", "fields", "missing", "checks", "corrections"],
    "properties": {
        "page": {"type": "integer", "minimum": 1},
        "side": {"type": "string", "enum": ["front", "back"]},
        "turned": {"type": "integer", "enum": [0, 90, 180, 270], "description": "clockwise, as photographed"},
        "fields": {
            "type": "object",
            "additionalProperties": False,
            "properties": {name: CARD_FIELD for name in FRONT_FIELDS + BACK_FIELDS},
        },
        "missing": {
            "type": "array",
            "items": {"type": "string"},
            "description": "the side's fields not read",
        },
        "checks": {
            "type": "object",
            "description": "front: which checks of the number pass (null: no field to agree with)",
            "properties": {
                "check_character": {"type": "boolean"},
                "birth_date_real": {"type": "boolean"},
                "birth_date_agrees": {"type": "boolean", "nullable": True},
                "sex_agrees": {"type": "boolean", "nullable": True},
            },
        },
        "corrections": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["field", "read", "corrected"],
                "properties": {
                    "field": {"type": "string"},
                    "read": {"type": "string"},
                    "corrected": {"type": "string"},
                    "reason": {"type": "string"},
                },
            },
        },
    },
}

ROTATION = {
    "type": "integer",
    "enum": [0, 90, 180, 270],
    "description": "degrees clockwise the page was turned to be read upright; boxes stay in the page as sent",
}

BLOCK = {
    "type": "object",
    "required": ["box", "lines", "text"],
    "description": "lines that belong together (a paragraph, a heading, a receipt's rows), in reading order",
    "properties": {
        "box": LINE["properties"]["box"],
        "lines": {"type": "array", "items": LINE},
        "text": {"type": "string"},
        "page": {"type": "integer", "minimum": 1},
    },
}


def options_fields(model_sets: tuple[str, ...]) -> dict:
    """The per-request options, with the bounds their settings declare; `model` may name only the
    sets this farm has loaded."""
    fields = {
        name: {**kind.schema(), "description": options.DESCRIPTIONS[name]}
        for name, kind in options.OPTIONS.items()
    }
    fields["model"] = {
        "type": "string",
        "enum": list(model_sets),
        "description": f"the model set that reads the document (default {model_sets[0]})",
    }
    fields[options.PASSWORD] = {
        "type": "string",
        "minLength": 1,
        "maxLength": options.PASSWORD_MAX,
        "description": "the password of a password-protected PDF (never shown back)",
    }
    fields[options.KIND] = {
        "type": "string",
        "enum": list(options.KINDS),
        "description": "ocr (default): lines; idcard: also an identity card's fields (`cards`)",
    }
    return fields


JOB = {
    "type": "object",
    "required": ["id", "status", "url"],
    "properties": {
        "id": JOB_ID,
        "status": {"type": "string", "enum": ["queued", "running", "done", "failed"]},
        "url": {"type": "string"},
        "attempts": {"oneOf": [{"type": "integer"}, {"type": "array"}]},
        "progress": {
            "type": "object",
            "properties": {"pages_done": {"type": "integer"}, "pages_total": {"type": "integer"}},
        },
        "filename": {"type": "string"},
        "text": {"type": "string"},
        "lines": {"type": "array", "items": LINE},
        "blocks": {"type": "array", "items": BLOCK},
        "pages": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["page", "width", "height", "lines", "text"],
                "properties": {
                    "page": {"type": "integer"},
                    "width": {"type": "integer"},
                    "height": {"type": "integer"},
                    "lines": {"type": "array", "items": LINE},
                    "blocks": {"type": "array", "items": BLOCK},
                    "rotation": ROTATION,
                    "text": {"type": "string"},
                    "source": {"type": "string", "enum": ["ocr", "text_layer"]},
                },
            },
        },
        # The pages whose lines came from the PDF's own text, not from OCR.
        "text_layer_pages": {"type": "array", "items": {"type": "integer"}},
        "image": {
            "type": "object",
            "properties": {"width": {"type": "integer"}, "height": {"type": "integer"}, "rotation": ROTATION},
        },
        "cards": {"type": "array", "items": CARD, "description": "kind=idcard: the card on each page read"},
        "timings": {"type": "object", "additionalProperties": {"type": "number"}},
        # What a finished job was read with, its model set included (a plain string: a result kept
        # from before a restart may name a set this farm no longer loads).
        "options": {
            "type": "object",
            "properties": {
                "angle_cls": {"type": "boolean"},
                "det_limit_side": {"type": "integer"},
                "min_confidence": {"type": "number"},
                "force_ocr": {"type": "boolean"},
                "password": {"type": "boolean"},
                "model": {"type": "string"},
                "kind": {"type": "string"},
                "answer_once": {"type": "boolean", "description": "deleted once answered (POST /v1/idcard)"},
            },
        },
        "error": ERROR["properties"]["error"],
    },
}

FAILED_JOB = {
    "allOf": [
        ERROR,
        {
            "type": "object",
            "required": ["id", "status"],
            "properties": {"id": JOB_ID, "status": {"const": "failed"}},
        },
    ]
}


# format=pdf of a done job whose PDF could not be made: the job stands, only the PDF failed.
PDF_NOT_MADE = {
    "allOf": [
        ERROR,
        {"type": "object", "required": ["id"], "properties": {"id": JOB_ID, "url": {"type": "string"}}},
    ]
}
FAILED_JOB_OR_PDF = {"anyOf": [FAILED_JOB, PDF_NOT_MADE]}


def upload_body(model_sets: tuple[str, ...]) -> dict:
    fields = options_fields(model_sets)
    return {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {
                            "type": "string",
                            "format": "binary",
                            "description": "JPEG, PNG, BMP, TIFF, WebP, GIF or PDF",
                        },
                        **fields,
                    },
                }
            },
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["image"],
                    "additionalProperties": False,
                    "properties": {
                        "image": {"type": "string", "description": "the file, base64"},
                        "filename": {"type": "string"},
                        "options": {"type": "object", "additionalProperties": False, "properties": fields},
                    },
                }
            },
        },
    }


def _json(schema: dict, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*statuses: int) -> dict:
    reasons = {
        400: "bad request: missing or empty file, bad base64, bad or unknown option",
        401: "an API token is configured and the request did not send it",
        404: "no such job (or page)",
        409: "the job cannot be cancelled: it is running or has finished",
        413: "too large: in bytes, in pixels or in pages",
        415: "not a supported type of file",
        422: "the document was accepted and failed, or (format=pdf) its searchable PDF could not be made "
        "(for kind=idcard: not_an_id_card names the fields not found); the body also says which job",
        503: "the queue is full (busy), or the shared queue cannot be reached (queue_unavailable); try again after Retry-After seconds",
        507: "the spool's disk is full",
    }
    out = {}
    for status in statuses:
        response = _json(FAILED_JOB_OR_PDF if status == 422 else ERROR, reasons[status])
        if status == 503:
            response["headers"] = {"Retry-After": {"schema": {"type": "string"}}}
        out[str(status)] = response
    return out


PENDING = {
    "202": {
        **_json(JOB, "not finished within the wait: ask the job's URL later"),
        "headers": {"Location": {"schema": {"type": "string"}}},
    }
}
RESULT = {
    "200": {
        "description": "the result, in the format asked for",
        "content": {
            "application/json": {"schema": JOB},
            "text/plain": {"schema": {"type": "string"}},
            "image/png": {"schema": {"type": "string", "format": "binary"}},
            "image/jpeg": {"schema": {"type": "string", "format": "binary"}},
            "application/pdf": {"schema": {"type": "string", "format": "binary"}},
            "text/vnd.hocr+html": {"schema": {"type": "string"}},
        },
    }
}
FORMAT = {
    "name": "format",
    "in": "query",
    "required": False,
    "schema": {"type": "string", "enum": ["json", "text", "annotated", "pdf", "hocr"]},
    "description": "json (default), text, annotated (the page with its boxes drawn; PNG, or JPEG "
    "when the Accept header prefers it), pdf (the document as a searchable PDF) or hocr",
}
PAGE = {
    "name": "page",
    "in": "query",
    "required": False,
    "schema": {"type": "integer", "minimum": 1},
    "description": "for format=annotated: which page",
}
ID_PARAM = {"name": "job_id", "in": "path", "required": True, "schema": {"type": "string"}}
UPLOAD_ERRORS = (400, 401, 413, 415, 422, 503, 507)


def document(model_sets: tuple[str, ...] = ("ppocrv3",)) -> dict:
    """The API of a farm that has loaded `model_sets` (what the `model` option may name)."""
    upload = upload_body(model_sets)
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "ocrfarm",
            "version": "1",
            "description": "Offline OCR: images and PDFs in, recognised lines with their boxes out.",
        },
        "paths": {
            "/v1/ocr": {
                "post": {
                    "summary": "Recognise a document, waiting for the result",
                    "parameters": [FORMAT, PAGE],
                    "requestBody": upload,
                    "responses": {**RESULT, **PENDING, **_errors(*UPLOAD_ERRORS)},
                }
            },
            "/v1/idcard": {
                "post": {
                    "summary": "Read an identity card's fields, waiting for the answer; the upload and the "
                    "result are deleted once answered",
                    "requestBody": upload,
                    "responses": {
                        "200": _json(JOB, "the result, with the card's fields in `cards`"),
                        **PENDING,
                        **_errors(*UPLOAD_ERRORS),
                    },
                }
            },
            "/v1/jobs": {
                "post": {
                    "summary": "Queue a document and answer at once",
                    "requestBody": upload,
                    "responses": {**PENDING, **_errors(*UPLOAD_ERRORS)},
                }
            },
            "/v1/jobs/{job_id}": {
                "get": {
                    "summary": "A job's state, or its result",
                    "parameters": [ID_PARAM, FORMAT, PAGE],
                    "responses": {**RESULT, **PENDING, **_errors(400, 401, 404, 422)},
                },
                "delete": {
                    "summary": "Cancel a queued job",
                    "parameters": [ID_PARAM],
                    "responses": {
                        "200": _json(FAILED_JOB, "cancelled: the job's final record"),
                        **_errors(401, 404, 409),
                    },
                },
            },
            "/v1/jobs/{job_id}/pages/{number}": {
                "get": {
                    "summary": "A page of the job's document as PNG, at the size its boxes refer to",
                    "parameters": [
                        ID_PARAM,
                        {
                            "name": "number",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "integer", "minimum": 1},
                        },
                    ],
                    "responses": {
                        "200": {
                            "description": "the page",
                            "content": {"image/png": {"schema": {"type": "string", "format": "binary"}}},
                        },
                        **_errors(401, 404, 413, 415, 422),
                    },
                }
            },
            "/v1/img/ocr": {
                "post": {
                    "summary": "The older single-process service's endpoint: [text, confidence] pairs",
                    "requestBody": {
                        "required": True,
                        "content": {"multipart/form-data": upload["content"]["multipart/form-data"]},
                    },
                    "responses": {
                        "200": _json(
                            {"type": "array", "items": {"type": "array", "minItems": 2, "maxItems": 2}},
                            "one [text, confidence] pair per line",
                        ),
                        **PENDING,
                        **_errors(*UPLOAD_ERRORS),
                    },
                }
            },
            "/tyocr": {
                "post": {
                    "summary": "The older file-queue service's endpoint: form field imgbase64",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/x-www-form-urlencoded": {
                                "schema": {
                                    "type": "object",
                                    "required": ["imgbase64"],
                                    "properties": {"imgbase64": {"type": "string"}},
                                }
                            }
                        },
                    },
                    "responses": {
                        "200": _json(
                            {
                                "type": "object",
                                "required": ["sign", "text"],
                                "properties": {"sign": {"const": 0}, "text": {"type": "string"}},
                            },
                            "the text",
                        ),
                        "202": _json({"type": "object", "required": ["sign", "text"]}, "still running"),
                        **{
                            str(status): _json(
                                {
                                    "type": "object",
                                    "required": ["sign", "text", "error"],
                                    "properties": {
                                        "sign": {"const": -1},
                                        "text": {"type": "string"},
                                        "error": ERROR["properties"]["error"],
                                    },
                                },
                                "refused or failed",
                            )
                            for status in (400, 413, 415, 422, 503, 507)
                        },
                        **_errors(401),
                    },
                }
            },
            "/predictor": {
                "post": {
                    "summary": "The image service's endpoint: a base64 body in, the annotated picture (base64 JPEG) out",
                    "requestBody": {
                        "required": True,
                        "content": {"text/plain": {"schema": {"type": "string"}}},
                    },
                    "responses": {
                        "200": {
                            "description": "base64 of a JPEG",
                            "content": {"text/plain": {"schema": {"type": "string"}}},
                        },
                        **PENDING,
                        **_errors(*UPLOAD_ERRORS),
                    },
                }
            },
            "/healthz": {
                "get": {
                    "summary": "The front is up",
                    "responses": {
                        "200": _json({"type": "object", "properties": {"status": {"const": "ok"}}}, "up")
                    },
                }
            },
            "/readyz": {
                "get": {
                    "summary": "At least one worker is ready",
                    "responses": {
                        str(status): _json(
                            {
                                "type": "object",
                                # A 503 for an unreachable queue has only ready, queue and error.
                                "required": ["ready", "workers", "queue_depth"]
                                if status == 200
                                else ["ready"],
                                "properties": {
                                    "ready": {"type": "boolean"},
                                    "queue": {"enum": ["spool", "redis"]},
                                    "queue_bytes_free": {"type": "integer"},
                                    "error": {"type": "string"},
                                    "workers": {"type": "integer"},
                                    "queue_depth": {"type": "integer"},
                                    "oldest_job_age_s": {"type": "number", "nullable": True},
                                    "disk_free_bytes": {"type": "integer"},
                                    "models": {
                                        "type": "array",
                                        "items": {"type": "string"},
                                        "description": "the model sets loaded; the first is the default",
                                    },
                                },
                            },
                            "ready" if status == 200 else "no worker ready",
                        )
                        for status in (200, 503)
                    },
                }
            },
            "/metrics": {
                "get": {
                    "summary": "Prometheus metrics",
                    "responses": {
                        "200": {
                            "description": "text format",
                            "content": {"text/plain": {"schema": {"type": "string"}}},
                        },
                        **_errors(401),
                    },
                }
            },
        },
    }
