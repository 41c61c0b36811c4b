"""scikit-learn's side of bench/tabular-defaults: every data set scikit-learn ships, split the same
way for both sides, written to CSV for this runtime, and scikit-learn's defaults fitted on it.

Usage: /usr/bin/python3 sklearn_peer.py OUT_DIR REPEATS
Writes OUT_DIR/<dataset>/<repeat>/{train,test}.csv (label first, header row) and prints one JSON
object per (dataset, repeat, model) on stdout: accuracy (classification) or rmse (regression), and
training seconds. Nothing is downloaded: these data sets are inside the sklearn package.
"""
import json
import os
import sys
import time

import numpy as np
from sklearn import datasets
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
import warnings

# linnerud has three targets and 20 rows; the runtime fits one label, so each target is its own set.
def shipped():
    yield 'iris', 'classification', datasets.load_iris(return_X_y=True)
    yield 'wine', 'classification', datasets.load_wine(return_X_y=True)
    yield 'breast_cancer', 'classification', datasets.load_breast_cancer(return_X_y=True)
    yield 'digits', 'classification', datasets.load_digits(return_X_y=True)
    yield 'diabetes', 'regression', datasets.load_diabetes(return_X_y=True)
    linnerud = datasets.load_linnerud()
    for index, name in enumerate(linnerud.target_names):
        yield f'linnerud_{name.lower()}', 'regression', (linnerud.data, linnerud.target[:, index])


def write_csv(path, x, y):
    header = 'label,' + ','.join(f'x{j}' for j in range(x.shape[1]))
    np.savetxt(path, np.column_stack([y, x]), delimiter=',', header=header, comments='', fmt='%.17g')


def timed_fit(model, x, y):
    start = time.perf_counter()
    with warnings.catch_warnings():
        # The MLPs' default 200 iterations warn on some sets; the default is what is measured.
        warnings.simplefilter('ignore', ConvergenceWarning)
        model.fit(x, y)
    return time.perf_counter() - start


def main():
    out_dir, repeats = sys.argv[1], int(sys.argv[2])
    for name, kind, (x, y) in shipped():
        for repeat in range(repeats):
            stratify = y if kind == 'classification' else None
            x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.25, random_state=repeat, stratify=stratify)
            folder = os.path.join(out_dir, name, str(repeat))
            os.makedirs(folder, exist_ok=True)
            labels = (lambda v: v.astype(int)) if kind == 'classification' else (lambda v: v)
            write_csv(os.path.join(folder, 'train.csv'), x_train, labels(y_train))
            write_csv(os.path.join(folder, 'test.csv'), x_test, labels(y_test))
            row = {'dataset': name, 'kind': kind, 'repeat': repeat, 'rows': int(x.shape[0]), 'features': int(x.shape[1]),
                   'train_rows': int(x_train.shape[0]), 'test_rows': int(x_test.shape[0])}
            if kind == 'classification':
                peers = {'LogisticRegression': make_pipeline(StandardScaler(), LogisticRegression()),
                         'MLPClassifier': make_pipeline(StandardScaler(), MLPClassifier(random_state=repeat))}
            else:
                peers = {'LinearRegression': make_pipeline(StandardScaler(), LinearRegression()),
                         'MLPRegressor': make_pipeline(StandardScaler(), MLPRegressor(random_state=repeat))}
            for model_name, model in peers.items():
                seconds = timed_fit(model, x_train, y_train)
                predicted = model.predict(x_test)
                score = ({'accuracy': float(np.mean(predicted == y_test))} if kind == 'classification'
                         else {'rmse': float(np.sqrt(np.mean((predicted - y_test) ** 2)))})
                print(json.dumps({**row, 'model': model_name, 'seconds': seconds, **score}), flush=True)


if __name__ == '__main__':
    main()
