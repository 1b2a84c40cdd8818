"""Datasets on disk: `<split>/shard-NNNNN.jsonl` (one case per line) plus `manifest.json`.

`build_dataset` (in `behaviorbench.dataset.build`) generates one; everything here reads, checks,
exports and describes one. The manifest's hash is the fingerprint runs record.
"""

from behaviorbench.dataset.manifest import Manifest, dataset_fingerprint, load_manifest
from behaviorbench.dataset.problems import Problem
from behaviorbench.dataset.reader import find_case, iter_cases, load_cases
from behaviorbench.dataset.validate import validate_dataset
from behaviorbench.dataset.writer import write_dataset

__all__ = [
    "Manifest",
    "Problem",
    "dataset_fingerprint",
    "find_case",
    "iter_cases",
    "load_cases",
    "load_manifest",
    "validate_dataset",
    "write_dataset",
]
