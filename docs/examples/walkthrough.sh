#!/usr/bin/env bash
# A customer's whole journey through the HTTP API, against a server in sandbox mode:
# a free booking, then a paid one paid on the Airwallex stand-in, scheduled on the Cal.com one.
#
#   make run                                   # in one terminal
#   bash docs/examples/walkthrough.sh          # in another (or: ... http://127.0.0.1:PORT)
#
# Every request checks its HTTP status; the script stops at the first surprise and says why.
# CI runs it against a real `sessionbook serve` (tests/docs/test_walkthrough.py).
set -euo pipefail

BASE_URL="${1:-http://127.0.0.1:8000}"
BASE_URL="${BASE_URL%/}"
API="$BASE_URL/functions/v1"
PAYMENT_WAIT_SECONDS=30

WORK_DIR="$(mktemp -d)"
trap 'rm -rf "$WORK_DIR"' EXIT

fail() {
  echo "walkthrough: $*" >&2
  exit 1
}

# request EXPECTED_STATUS METHOD URL [curl options...]: prints the answer's body, or stops
# the script (showing the body) when the HTTP status is not the expected one.
request() {
  local expected="$1" method="$2" url="$3"
  shift 3
  local status
  status="$(curl --silent --show-error --max-time 30 --output "$WORK_DIR/body" \
    --write-out '%{http_code}' --request "$method" "$@" "$url")" ||
    fail "$method $url: no answer"
  if [[ "$status" != "$expected" ]]; then
    echo "walkthrough: $method $url answered HTTP $status, expected $expected:" >&2
    cat "$WORK_DIR/body" >&2
    echo >&2
    exit 1
  fi
  cat "$WORK_DIR/body"
}

# json_get PATH: reads JSON on stdin and prints the value at PATH (keys and list indexes
# separated by dots, e.g. slots.0.start); strings as they are, anything else as JSON.
json_get() {
  python3 -c '
import json, sys
value = json.load(sys.stdin)
for key in sys.argv[1].split("."):
    value = value[int(key)] if isinstance(value, list) else value[key]
print(value if isinstance(value, str) else json.dumps(value))
' "$1"
}

# expect WHAT ACTUAL WANTED: stops the script unless ACTUAL is WANTED.
expect() {
  [[ "$2" == "$3" ]] || fail "$1 is '$2', expected '$3'"
}

create_booking() {
  request 201 POST "$API/booking-create" \
    --header 'Content-Type: application/json' \
    --data "{\"packageId\": \"$1\", \"customerName\": \"Ada Walkthrough\", \"customerEmail\": \"ada@example.com\"}"
}

booking_status() {
  request 200 GET "$API/booking-status" --header "X-Booking-Token: $1"
}

echo "== 1. A free discovery call: paid at once, nothing to pay"
created="$(create_booking discovery)"
free_token="$(json_get bookingToken <<<"$created")"
expect "requiresPayment" "$(json_get requiresPayment <<<"$created")" false
status="$(booking_status "$free_token")"
expect "discovery status" "$(json_get status <<<"$status")" paid
echo "booking $(json_get id <<<"$status"): status paid, amount $(json_get amountCents <<<"$status")"

echo "== 2. A paid single session: waiting for payment"
created="$(create_booking single)"
token="$(json_get bookingToken <<<"$created")"
payment_url="$(json_get paymentUrl <<<"$created")"
[[ "$payment_url" == http* ]] || fail "no paymentUrl in $created"
status="$(booking_status "$token")"
expect "single status" "$(json_get status <<<"$status")" pending
expect "single paymentUrl" "$(json_get paymentUrl <<<"$status")" "$payment_url"
echo "booking $(json_get id <<<"$status"): pending, pay at $payment_url"

echo "== 3. Pay it on the sandbox payment page (what its Pay button posts)"
# The stand-in answers 303 (back to the shop) and sends the shop a signed webhook.
request 303 POST "$payment_url" --data 'action=pay' >/dev/null
deadline=$((SECONDS + PAYMENT_WAIT_SECONDS))
while true; do
  state="$(booking_status "$token" | json_get status)"
  [[ "$state" == paid ]] && break
  ((SECONDS < deadline)) || fail "booking still '$state' ${PAYMENT_WAIT_SECONDS}s after paying"
  sleep 1
done
echo "paid"

echo "== 4. Free times for the next seven days"
read -r first_day last_day < <(python3 -c '
from datetime import date, timedelta
today = date.today()
print(today + timedelta(days=1), today + timedelta(days=7))
')
slots="$(request 200 GET "$API/booking-slots" --get \
  --header "X-Booking-Token: $token" \
  --data-urlencode "start=$first_day" --data-urlencode "end=$last_day" \
  --data-urlencode 'timezone=Europe/London')"
slot_count="$(python3 -c 'import json, sys; print(len(json.load(sys.stdin)["slots"]))' <<<"$slots")"
((slot_count > 0)) || fail "no free time between $first_day and $last_day"
start_time="$(json_get slots.0.start <<<"$slots")"
end_time="$(json_get slots.0.end <<<"$slots")"
echo "$slot_count free times; the first is $start_time to $end_time"

echo "== 5. Book the first one"
scheduled="$(request 200 POST "$API/booking-schedule" \
  --header 'Content-Type: application/json' \
  --data "{\"bookingToken\": \"$token\", \"startTime\": \"$start_time\", \"endTime\": \"$end_time\", \"timezone\": \"Europe/London\"}")"
meeting_url="$(json_get meetingUrl <<<"$scheduled")"
status="$(booking_status "$token")"
expect "single status" "$(json_get status <<<"$status")" scheduled
expect "scheduledStart" "$(json_get scheduledStart <<<"$status")" "$start_time"
echo "scheduled from $start_time to $end_time"
echo "meeting URL: $meeting_url"
