"""Scale-out on Ray (docs/scale-out.md): Ray Serve for the API (`serve --ray`), Ray Data for bulk scans
(`scan --ray`). Optional: nothing outside this package imports Ray, and this package imports it only
when one of those commands runs, so the single-machine server and `scan` work without it.

| module | what |
|---|---|
| `cluster.py` | connect to a cluster, size the work to its CPUs |
| `bulk.py` | the bulk scan: an actor pool of Detectors over the listed videos, resumable JSONL output |
| `results.py` | the results file: what is done already, appending rows, a torn last line |
| `replica.py` | the Serve deployment that holds a Detector; the CNN batched across requests |
| `remote.py` | `RemoteDetector`: what the API app sees in place of a local Detector |
| `serving.py` | the Serve application: the unchanged FastAPI app as ingress, N detector replicas |
"""
