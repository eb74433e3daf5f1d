"""Datasets for the sandbox org: the seeded demo story and synthetic orgs of any size.

``demo_dataset(today)`` is the org `syncd demo` and the integration tests run against;
``demo_landmarks`` says what one cycle must write on its story records;
``synthetic_dataset(n, seed=..., today=...)`` builds realistic orgs for scale tests and
benchmarks. All of them are deterministic: the same arguments give the same records.
"""

from __future__ import annotations

from syncd.sandbox.dataset_base import Dataset, Landmark
from syncd.sandbox.dataset_demo import DEMO_CHANNEL_CHIEF_ID, DEMO_CHANNEL_OPS_ID, demo_dataset
from syncd.sandbox.dataset_landmarks import demo_landmarks
from syncd.sandbox.dataset_synthetic import synthetic_dataset

__all__ = [
    "DEMO_CHANNEL_CHIEF_ID",
    "DEMO_CHANNEL_OPS_ID",
    "Dataset",
    "Landmark",
    "demo_dataset",
    "demo_landmarks",
    "synthetic_dataset",
]
