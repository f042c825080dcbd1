#!/usr/bin/env bash
# The main job, offline: set up, generate a small dataset with the `composite` backend (real
# MTCNN, crop, OCR scrub, pHash de-dup, crash-safe store), validate it, export it as Parquet +
# dataset card, and load every config back with `datasets.load_dataset`.
# Usage: scripts/demo.sh [PER_CONFIG]   (default: origin 36, text_attribute 16, text_swap 16, the
# smallest sizes at which every class has train, validation and test samples; output in out/demo/)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
n_origin=${1:-36}
n_attribute=${1:-16}
n_swap=${1:-16}
out=out/demo
mkdir -p "$out"
.venv/bin/dgm4plus generate --backend composite --out "$out/DGM4" \
  --origin "$n_origin" --text-attribute "$n_attribute" --text-swap "$n_swap" --strict-no-text \
  --composite-signage-rate 0.2
.venv/bin/dgm4plus validate "$out/DGM4"
rm -rf "$out/dgm4plus"
.venv/bin/dgm4plus export --data-dir "$out/DGM4" --out "$out/dgm4plus"
cd "$out"
HF_DATASETS_OFFLINE=1 HF_HUB_OFFLINE=1 ../../.venv/bin/python - <<'PY'
import datasets

datasets.disable_progress_bars()
for config in ("origin", "text_attribute", "text_swap", "all"):
    dd = datasets.load_dataset("dgm4plus", config)
    sizes = ", ".join(f"{split} {len(ds)}" for split, ds in dd.items())
    print(f"load_dataset('dgm4plus', {config!r}): {sizes}")
row = datasets.load_dataset("dgm4plus", "text_swap", split="train")[0]
print("example:", row["text"], "| fake_text_pos:", row["fake_text_pos"], "| image:", row["image"].size)
PY
echo "demo: dataset in $out/DGM4, export in $out/dgm4plus (card: $out/dgm4plus/README.md)"
