#!/usr/bin/env bash
# A scripted MM2 failover A→B and failback B→A of the kind teams keep in a wiki today:
# Kafka's own CLI tools (from the stack's jars, as kafka-run-class.sh would run them),
# curl against Connect, jq. It is the comparison for bench/orchestration.ts: the same
# steps as kafka-dr's failover and failback playbooks, approvals instant, no retries,
# no journal. Every step prints `STEP <name> <start ms> <end ms>` on stdout.
#
# Settings (environment): KAFKA_LIBS, BOOTSTRAP_A, BOOTSTRAP_B, CONNECT_A, CONNECT_B,
# TOPIC, GROUP, PARTITIONS, QUIET_S, FORWARD (space-separated connector names, the
# MirrorSourceConnector first), REVERSE_DIR (the reverse flow's connector configs, one
# <name>.json each, the MirrorSourceConnector named in REVERSE_SOURCE).
set -euo pipefail

: "${KAFKA_LIBS:?}" "${BOOTSTRAP_A:?}" "${BOOTSTRAP_B:?}" "${CONNECT_A:?}" "${CONNECT_B:?}" "${TOPIC:?}" "${GROUP:?}"
: "${PARTITIONS:?}" "${QUIET_S:?}" "${FORWARD:?}" "${REVERSE_DIR:?}" "${REVERSE_SOURCE:?}"
read -r -a FWD <<<"$FORWARD"
FORWARD_SOURCE=${FWD[0]}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# kafka-run-class.sh's defaults for the tools.
kafka_tool() {
  java -Xmx256M -server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 \
    -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true -cp "$KAFKA_LIBS/*" "$@"
}
now() { date +%s%3N; }
STEP_NAME=''
STEP_START=0
step() { STEP_NAME=$1; STEP_START=$(now); echo "runbook: $1" >&2; }
done_step() { echo "STEP $STEP_NAME $STEP_START $(now)"; }

# topic:partition:offset lines → "p offset" per partition.
end_offsets() { kafka_tool org.apache.kafka.tools.GetOffsetShell --bootstrap-server "$1" --topic-partitions "$TOPIC" | awk -F: '{print $2, $3}' | sort; }
healthy() {
  local out
  out=$(kafka_tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$1" --describe --under-replicated-partitions)
  [ -z "$out" ] || { echo "runbook: $1 has under-replicated partitions" >&2; exit 1; }
}
# The MM2 source connector's committed offsets for TOPIC: "p offset" per partition.
committed() {
  curl -sf "$1/connectors/$2/offsets" \
    | jq -r --arg t "$TOPIC" '.offsets[] | select(.partition.topic == $t) | "\(.partition.partition) \(.offset.offset)"' | sort
}
# Sum over partitions of end − (committed + 1).
lag() {
  local ends committed_now
  committed_now=$(committed "$2" "$3")
  ends=$(end_offsets "$1")
  join <(echo "$ends") <(echo "$committed_now") -a1 -e -1 -o 0,1.2,2.2 | awk '{ l = $2 - ($3 + 1); if (l < 0) l = 0; s += l } END { print s + 0 }'
}
wait_state() { # connect, state, connectors...
  local connect=$1 state=$2; shift 2
  for c in "$@"; do
    until [ "$(curl -sf "$connect/connectors/$c/status" | jq -r .connector.state)" = "$state" ]; do sleep 0.5; done
  done
}
set_state() { # connect, stop|resume, connectors...: PUT the action on each, then wait for its state
  local connect=$1 action=$2 state; shift 2
  [ "$action" = stop ] && state=STOPPED || state=RUNNING
  for c in "$@"; do curl -sf -X PUT "$connect/connectors/$c/$action" >/dev/null; done
  wait_state "$connect" "$state" "$@"
}
quiet() { # bootstrap
  local before after
  before=$(end_offsets "$1")
  for (( ;; )); do
    sleep "$QUIET_S"
    after=$(end_offsets "$1")
    [ "$before" = "$after" ] && return
    before=$after
  done
}
drain() { # source bootstrap, connect, connector
  until [ "$(lag "$1" "$2" "$3")" = 0 ]; do sleep 1; done
}
# Latest checkpoints of GROUP (MM2's CheckpointFormatter), one reset per group from a CSV.
translate() { # target bootstrap, checkpoints topic
  # The checkpoints topic has one partition: assign it (no group join) and stop 5 s after the last record.
  # Tombstones (the offsets benchmark deletes its checkpoints with them) make the formatter throw: skip them.
  kafka_tool org.apache.kafka.tools.consumer.ConsoleConsumer --bootstrap-server "$1" --topic "$2" --partition 0 --offset earliest \
    --timeout-ms 5000 --skip-message-on-error --formatter org.apache.kafka.connect.mirror.formatters.CheckpointFormatter 2>/dev/null \
    | sed -nE 's/.*consumerGroupId=([^,]+), topicPartition=(.+)-([0-9]+), upstreamOffset=[0-9]+, downstreamOffset=([0-9]+).*/\1 \2 \3 \4/p' \
    | awk -v g="$GROUP" -v t="$TOPIC" '$1 == g && $2 == t { last[$3] = $4 } END { for (p in last) print t "," p "," last[p] }' >"$WORK/reset.csv"
  if [ -s "$WORK/reset.csv" ]; then
    kafka_tool org.apache.kafka.tools.consumer.group.ConsumerGroupCommand --bootstrap-server "$1" --group "$GROUP" \
      --reset-offsets --from-file "$WORK/reset.csv" --execute >"$WORK/reset.out" 2>&1 \
      || { echo "runbook: offset reset failed:" >&2; cat "$WORK/reset.out" >&2; exit 1; }
  else
    echo "runbook: no checkpoints for $GROUP on $TOPIC" >&2
  fi
}
# "p offset" lines → Connect offsets JSON for an MM2 source connector (source alias $1), offset = value − 1.
offsets_json() {
  jq -Rn --arg alias "$1" --arg t "$TOPIC" \
    '{offsets: [inputs | select(length > 0) | split(" ") | {partition: {cluster: $alias, topic: $t, partition: (.[0] | tonumber)}, offset: {offset: ((.[1] | tonumber) - 1)}} | select(.offset.offset >= 0)]}'
}

# ---- failover A → B (planned) ----
step check-target; healthy "$BOOTSTRAP_B"; done_step
step check-lag; echo "runbook: forward lag $(lag "$BOOTSTRAP_A" "$CONNECT_B" "$FORWARD_SOURCE")" >&2; done_step
# gate stop-producers: approved at once
step verify-quiet; quiet "$BOOTSTRAP_A"; done_step
step drain; drain "$BOOTSTRAP_A" "$CONNECT_B" "$FORWARD_SOURCE"; done_step
step stop-forward
set_state "$CONNECT_B" stop "${FWD[@]}"
done_step
step snapshot; end_offsets "$BOOTSTRAP_B" >"$WORK/snapshot-b"; end_offsets "$BOOTSTRAP_A" >/dev/null; done_step
step translate-offsets; translate "$BOOTSTRAP_B" A.checkpoints.internal; done_step
# gates consumers-cutover, producers-cutover: approved at once
echo "FAILOVER_DONE $(now)"

# The DR period happens here (the bench writes to B and moves the group); it waits for a line on stdin.
read -r _

# ---- failback B → A ----
step check-primary; healthy "$BOOTSTRAP_A"; done_step
step check-forward
for c in "${FWD[@]}"; do [ "$(curl -sf "$CONNECT_B/connectors/$c/status" | jq -r .connector.state)" = STOPPED ] || { echo "runbook: $c not STOPPED" >&2; exit 1; }; done
done_step
step deploy-reverse
for f in "$REVERSE_DIR"/*.json; do
  curl -sf -X POST -H 'Content-Type: application/json' --data @"$f" "$CONNECT_A/connectors" >/dev/null
done
REVERSE=()
for f in "$REVERSE_DIR"/*.json; do REVERSE+=("$(jq -r .name "$f")"); done
wait_state "$CONNECT_A" STOPPED "${REVERSE[@]}"
done_step
step seed-reverse
offsets_json B <"$WORK/snapshot-b" | curl -sf -X PATCH -H 'Content-Type: application/json' --data @- "$CONNECT_A/connectors/$REVERSE_SOURCE/offsets" >/dev/null
done_step
step start-reverse
set_state "$CONNECT_A" resume "${REVERSE[@]}"
done_step
step catch-up; drain "$BOOTSTRAP_B" "$CONNECT_A" "$REVERSE_SOURCE"; done_step
# gate consumers-cutover: approved at once
step translate-offsets-back; translate "$BOOTSTRAP_A" B.checkpoints.internal; done_step
# gate stop-producers: approved at once
step verify-quiet-b; quiet "$BOOTSTRAP_B"; done_step
step drain-reverse; drain "$BOOTSTRAP_B" "$CONNECT_A" "$REVERSE_SOURCE"; done_step
step stop-reverse
set_state "$CONNECT_A" stop "${REVERSE[@]}"
done_step
step snapshot-primary; end_offsets "$BOOTSTRAP_A" >"$WORK/snapshot-a"; done_step
# gate producers-cutover: approved at once
step remove-reverse; for c in "${REVERSE[@]}"; do curl -sf -X DELETE "$CONNECT_A/connectors/$c" >/dev/null; done; done_step
step set-forward-offsets
offsets_json A <"$WORK/snapshot-a" | curl -sf -X PATCH -H 'Content-Type: application/json' --data @- "$CONNECT_B/connectors/$FORWARD_SOURCE/offsets" >/dev/null
done_step
step resume-forward
set_state "$CONNECT_B" resume "${FWD[@]}"
done_step
echo "FAILBACK_DONE $(now)"
