# The rtprof agent image: `docker build -t rtprof:latest .`
# Build stage: compile, pack the package (package.json "files" decides what ships) and lay out the
# runtime tree with production dependencies only, by the same script test/package.test.ts runs.
FROM node:20-bookworm AS build
WORKDIR /src
COPY package.json package-lock.json ./
# --ignore-scripts: "prepare" compiles the sources, which are not copied yet; tsc runs below.
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY . .
RUN npx tsc -p tsconfig.json \
 && npm pack --ignore-scripts --pack-destination /tmp --loglevel=error \
 && sh deploy/image/install-runtime.sh /tmp/rtprof-*.tgz package-lock.json /opt/rtprof

# Runtime stage: Node 20 to run the agent, gdb to attach to CPython 3.8-3.13 targets.
FROM node:20-bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends gdb \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /opt/rtprof /opt/rtprof
RUN ln -s /opt/rtprof/bin/rtprof.js /usr/local/bin/rtprof
# Root, on purpose: attaching means ptrace (gdb, and SIGUSR1 + the inspector for Node) on processes
# of other users and containers, reading their /proc/PID/{syscall,io,environ} and writing the probe
# files into their filesystems through /proc/PID/root; that takes uid 0 with CAP_SYS_PTRACE.
# With `--no-attach` and targets of one uid, running as that uid is enough (/proc only).
USER root
EXPOSE 9464
ENTRYPOINT ["rtprof"]
CMD ["agent", "--discover", "--host", "0.0.0.0"]
