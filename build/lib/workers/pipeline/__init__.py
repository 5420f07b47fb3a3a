"""The farm's own OCR pipeline over ONNX weights: detection, crops, orientation, recognition.

Pre- and post-processing follow PaddleOCR 2.10's (tools/infer/predict_det.py, predict_cls.py,
predict_rec.py, ppocr/postprocess/db_postprocess.py and rec_postprocess.py, Apache-2.0), rewritten
here in numpy and OpenCV so that a worker never imports paddle; tests/test_pipeline_matches_paddle.py
checks them against PaddleOCR's own on the same inputs. What differs on purpose is how crops are
batched for the recogniser and how a line's orientation is decided (recognition.py, orientation.py).
"""
