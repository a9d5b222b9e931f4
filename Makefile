# robo_edge: `make demo` runs the main job in the digital twin, `make test` builds and tests.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
REPORT ?= reports/demo
JOBS ?= 2
# Everything that runs ROS in this shell sees the built package and the tuned Fast DDS profile.
ROS_ENV := source $(VENV)/bin/activate && source install/setup.bash

.PHONY: all venv build test test-jazzy lint demo scenarios chaos bench model clean cloud-demo \
	bench-sync degradation robot-bench figures fleet-deps

all: build

# The development venv also holds the release-side canary's Ray (requirements/canary.txt, which
# includes dev.txt): make test runs the canary on a real local cluster. A robot needs neither.
$(STAMP): requirements/runtime.txt requirements/common.txt requirements/dev.txt \
		requirements/tools.txt requirements/canary.txt requirements/constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip==26.3
	$(PY) -m pip install --quiet -r requirements/canary.txt -c requirements/constraints.txt
	touch $@

venv: $(STAMP)

build: $(STAMP)
	source $(VENV)/bin/activate && colcon build --event-handlers console_cohesion-

# The fleet's servers (docs/fleet.md) from Debian's packages: nginx (the repository, uploads) and
# mosquitto (telemetry), each installed with apt-get when missing (as root, or through
# passwordless sudo); one that is present is left as it is.
FLEET_PACKAGES := nginx mosquitto
fleet-deps:
	@missing=""; for p in $(FLEET_PACKAGES); do \
		if command -v $$p >/dev/null 2>&1 || [ -x /usr/sbin/$$p ]; then \
			echo "fleet-deps: $$p present"; else missing="$$missing $$p"; fi; \
	done; \
	if [ -z "$$missing" ]; then \
		true; \
	elif ! command -v apt-get >/dev/null 2>&1; then \
		echo "fleet-deps:$$missing missing and there is no apt-get: install nginx (1.22+)" \
			"and mosquitto (2.0+)" >&2; \
		exit 1; \
	elif [ "$$(id -u)" -eq 0 ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -qq --no-install-recommends $$missing; \
	elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then \
		sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -qq --no-install-recommends $$missing; \
	else \
		echo "fleet-deps:$$missing missing; as root run: apt-get install -y$$missing" >&2; \
		exit 1; \
	fi

# colcon test exits 0 even when tests fail: test-result decides.
test: build fleet-deps
	$(ROS_ENV) && colcon test --event-handlers console_direct+ \
		--pytest-args -q -p no:cacheprovider; \
		status=$$?; colcon test-result --verbose && exit $$status

# ROS 2 Jazzy, the LTS robots run: the unit and node tiers in an environment of their own
# (.venv-jazzy, build-jazzy, install-jazzy, log-jazzy). Whatever ROS environment the calling
# shell has is dropped first: the wheels' bootstrap would keep an inherited LD_LIBRARY_PATH.
# test/node/test_ros_distribution.py fails the run unless it really is Jazzy.
JAZZY_VENV := .venv-jazzy
JAZZY_STAMP := $(JAZZY_VENV)/.installed
JAZZY_COLCON := colcon --log-base log-jazzy
JAZZY_BASES := --build-base build-jazzy --install-base install-jazzy
JAZZY_ENV := unset _ROS_WHEELS_BOOTSTRAP_COMPLETE LD_LIBRARY_PATH PYTHONPATH AMENT_PREFIX_PATH \
	COLCON_PREFIX_PATH CMAKE_PREFIX_PATH && source $(JAZZY_VENV)/bin/activate

$(JAZZY_STAMP): requirements/jazzy.txt requirements/common.txt requirements/tools.txt \
		requirements/constraints-jazzy.txt
	$(PYTHON) -m venv $(JAZZY_VENV)
	$(JAZZY_VENV)/bin/python -m pip install --quiet --upgrade pip==26.3
	$(JAZZY_VENV)/bin/python -m pip install --quiet -r requirements/jazzy.txt \
		-c requirements/constraints-jazzy.txt
	touch $@

test-jazzy: $(JAZZY_STAMP)
	$(JAZZY_ENV) && $(JAZZY_COLCON) build $(JAZZY_BASES) --event-handlers console_cohesion-
	$(JAZZY_ENV) && source install-jazzy/setup.bash && export ROBO_EDGE_ROS_DISTRO=jazzy && \
		$(JAZZY_COLCON) test $(JAZZY_BASES) --event-handlers console_direct+ \
		--pytest-args test/unit test/node -q -p no:cacheprovider; \
		status=$$?; $(JAZZY_COLCON) test-result --test-result-base build-jazzy --verbose && \
		exit $$status

lint: $(STAMP)
	$(VENV)/bin/ruff check robo_edge test bench launch setup.py

demo: build
	$(ROS_ENV) && robo-edge scenario run sim/scenarios/demo_warehouse.yaml --report $(REPORT)

scenarios: build
	$(ROS_ENV) && robo-edge scenario run sim/scenarios/*.yaml --report reports/scenarios --jobs $(JOBS)

# Chaos as code: the fault suite (each scenario's expected verdict), then the benchmarks of the
# breakers in simulated time (vs the baseline monitor) and of seeded fault runs in the twin.
chaos: build
	$(ROS_ENV) && robo-edge scenario run sim/scenarios/chaos/*.yaml --report reports/chaos \
		--jobs $(JOBS) --no-record
	$(ROS_ENV) && python bench/breakers.py && python bench/chaos.py --jobs $(JOBS)

# Degradation on worlds nobody tuned for (generated + shipped): nominal runs and every fault
# kind, breakers vs baseline; resumes from bench/results/degradation_runs/ (hours when cold).
degradation: build
	$(ROS_ENV) && python bench/degradation.py --resume --plot --jobs $(JOBS)

# bench/robot.py: the robot bringup on the wall clock (twin at 1x) and in lockstep, the faults
# side by side, a 30 min nominal soak; resumes from bench/results/robot_runs/ (hours when cold).
robot-bench: build
	$(ROS_ENV) && python bench/robot.py --resume

# Cloud sync: a map and a model arrive from a local `robo-edge cloud serve`, pass the canary
# gate and activate; a degenerate model is rejected (tools/cloud_demo.py).
cloud-demo: build
	$(ROS_ENV) && python tools/cloud_demo.py

bench-sync: build
	$(ROS_ENV) && python bench/sync.py

bench: build
	$(ROS_ENV) && python bench/transport.py && python bench/twin.py && python bench/repeatability.py

# The README's table of figures, from bench/results (a unit test fails when they differ).
figures:
	$(PY) tools/readme_figures.py --write

# The floor-segmentation model: render the dataset from the twin (data/, git-ignored), train on
# CPU with PyTorch (train-time only), export models/floor_seg.onnx, score it with onnxruntime.
DATA := data/perception
model: $(STAMP)
	$(PY) -m pip install --quiet -r requirements/train.txt -c requirements/constraints.txt
	$(PY) tools/generate_dataset.py --out $(DATA) --train-worlds 288 --jobs $(JOBS)
	OMP_NUM_THREADS=1 $(PY) tools/train_segmentation.py --data $(DATA) --out models/floor_seg.onnx \
		--epochs 16 --patience 6 --max-minutes 40
	$(PY) tools/evaluate_segmentation.py --model models/floor_seg.onnx --data $(DATA)

# The release-side canary (docs/architecture.md) on a local Ray cluster: the quick suite of
# config/canary.yaml, CANDIDATE (default: the shipped model, against itself) vs the release.
.PHONY: canary
CANDIDATE ?= models/floor_seg.onnx
canary: build
	$(ROS_ENV) && robo-edge cloud canary $(CANDIDATE) --kind model --quick --report reports/canary

clean:
	rm -rf build install log reports build-jazzy install-jazzy log-jazzy
