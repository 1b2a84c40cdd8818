"""Does a model's own representation tell a problem from its minimal-pair control? A linear probe.

For every proactive-group designated slot (a problem, or its control) of the first --train-cases
train cases and --eval-cases cases of --eval-split, the hidden state at the token where the
assistant's turn is read is taken from a model (the base SmolLM2, or a trained agent) at a few
layers. Logistic regression fit on the train slots ranks the evaluation slots; its ROC AUC
(problem against control) is what a linear head on those features can reach. Beside it, on the
same evaluation slots: the AUC of the model's own proactive probability (models with behavior
tokens) and of a bag-of-words probe on the last two utterances. Chance is 0.50. If the probe is
near chance too, more steps of the same recipe cannot help much: the features lack the signal.

    python bench/proactive_probe.py --data data/paper --model smollm2-135m-behaviorsft

The last line holds the figures as key=value pairs.
"""

from __future__ import annotations

import argparse
import itertools
import os
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def slot_features(backend, cases, layers: list[int]):
    """Hidden states at each proactive-group slot's read position, labels, own proactive probabilities."""
    import torch
    from rich.progress import track

    from behaviorbench.models.hf import behavior_probabilities
    from behaviorbench.taxonomy import BEHAVIORS, GROUP_OF, Behavior, Group

    style = "token" if backend.agent_style == "token" else "plain"
    features, labels, own = {layer: [] for layer in layers}, [], []
    for case in track(cases, description="cases", transient=True):
        slots = [s for s in case.designated if GROUP_OF[s.category] is Group.proactive]
        if not slots:
            continue
        ids, starts, _ = backend._slot_starts(case, style, [s.index for s in slots])
        prefix = len(backend.marks(style).prefix) if style == "token" else 0
        reads = [start + prefix - 1 for start in starts]
        with torch.inference_mode():
            output = backend.model(
                input_ids=torch.tensor([ids[: max(reads) + 1]], device=backend.device),
                output_hidden_states=True,
            )
        for layer in layers:
            features[layer].extend(output.hidden_states[layer][0, reads].float().cpu().numpy())
        labels.extend(int(s.gold_behavior is Behavior.proactive) for s in slots)
        if style == "token":
            marks = backend.marks(style)
            rows = output.logits[0, reads][:, [marks.decision[b] for b in BEHAVIORS]].float().tolist()
            own.extend(behavior_probabilities(row, 0.0)[Behavior.proactive] for row in rows)
    return {layer: np.array(rows) for layer, rows in features.items()}, np.array(labels), own


def probe_auc(train_x, train_y, test_x, test_y) -> float:
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=5000))
    model.fit(train_x, train_y)
    return float(roc_auc_score(test_y, model.predict_proba(test_x)[:, 1]))


def words_auc(train_cases, test_cases) -> float:
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score

    from behaviorbench.dataset.shortcuts import TOKENS, pair_slots

    train, test = pair_slots(train_cases, [2]), pair_slots(test_cases, [2])
    vectorizer = CountVectorizer(ngram_range=(1, 2), token_pattern=TOKENS)
    model = LogisticRegression(max_iter=2000).fit(vectorizer.fit_transform(train.texts[2]), train.labels)
    return float(roc_auc_score(test.labels, model.predict_proba(vectorizer.transform(test.texts[2]))[:, 1]))


def main() -> None:
    from sklearn.metrics import roc_auc_score

    from behaviorbench.dataset.reader import iter_cases
    from behaviorbench.models.hf import HFBackend

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--model", default="smollm2-135m", help="a model alias, reference agent or folder")
    parser.add_argument("--train-cases", type=int, default=80)
    parser.add_argument("--eval-split", default="dev")
    parser.add_argument("--eval-cases", type=int, default=40)
    parser.add_argument("--layers", default="10,20,30", help="hidden-state layers probed (0: embeddings)")
    parser.add_argument("--dtype", default=None, help="float32 (CPU default) or bfloat16")
    args = parser.parse_args()

    layers = [int(x) for x in args.layers.split(",")]
    train_cases = list(
        itertools.islice((c for c in iter_cases(args.data) if c.split == "train"), args.train_cases)
    )
    eval_cases = list(
        itertools.islice((c for c in iter_cases(args.data) if c.split == args.eval_split), args.eval_cases)
    )
    backend = HFBackend(args.model, device="cpu", dtype=args.dtype)
    train_x, train_y, _ = slot_features(backend, train_cases, layers)
    eval_x, eval_y, own = slot_features(backend, eval_cases, layers)
    print(
        f"{args.model}: {len(train_y)} train slots ({train_y.mean():.2f} problems) from {len(train_cases)} "
        f"cases, {len(eval_y)} {args.eval_split} slots from {len(eval_cases)} cases"
    )
    figures = {
        f"probe_auc_layer{layer}": probe_auc(train_x[layer], train_y, eval_x[layer], eval_y)
        for layer in layers
    }
    figures["own_auc"] = float(roc_auc_score(eval_y, own)) if own else float("nan")
    figures["words_auc"] = words_auc(train_cases, eval_cases)
    for name, value in figures.items():
        print(f"{name:>22}: {value:.3f}")
    print(" ".join(f"{key}={value:.3f}" for key, value in figures.items()))


if __name__ == "__main__":
    main()
