"""A trained flow model on disk: XGBoost JSON + class names (docs/TRAINING.md).

Class names travel twice, so neither the JSON nor the sidecar alone loses
them: as the booster attribute `class_names` (a JSON list, kept inside
model.json) and as model.classes.json next to it. Class 0 is benign.
"""
import json
import os

import numpy as np
import xgboost as xgb


def classes_path(model_path):
    root, _ = os.path.splitext(model_path)
    return root + ".classes.json"


def save(booster, model_path, class_names, attributes):
    booster.set_attr(class_names=json.dumps(class_names), **attributes)
    booster.save_model(model_path)
    with open(classes_path(model_path), "w", encoding="utf-8") as f:
        json.dump(class_names, f)
        f.write("\n")


def load(model_path):
    """Returns (booster, class_names). Raises ValueError naming what is wrong."""
    if not os.path.exists(model_path):
        raise ValueError(f"{model_path}: no such model file")
    try:
        booster = xgb.Booster(model_file=model_path)
    except xgb.core.XGBoostError as e:
        raise ValueError(f"{model_path}: XGBoost cannot load it: {str(e).splitlines()[0]}") from None
    attr = booster.attr("class_names")
    names = None
    if attr:
        names = json.loads(attr)
    elif os.path.exists(classes_path(model_path)):
        with open(classes_path(model_path), encoding="utf-8") as f:
            names = json.load(f)
    if not names:
        raise ValueError(f"{model_path}: no class names (attribute class_names or "
                         f"{os.path.basename(classes_path(model_path))})")
    if not booster.feature_names:
        raise ValueError(f"{model_path}: the model has no feature names")
    return booster, names


def predict_proba(booster, features, feature_names, num_classes):
    """(n, K) class probabilities as float32, for binary:logistic and multi:softprob."""
    dmatrix = xgb.DMatrix(features, missing=np.nan, feature_names=feature_names)
    raw = booster.predict(dmatrix)
    if num_classes == 2 and raw.ndim == 1:
        # binary:logistic gives P(class 1); class 0 is benign.
        return np.stack([np.float32(1) - raw, raw], axis=1)
    return raw.reshape(len(features), num_classes)
