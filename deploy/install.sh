#!/usr/bin/env bash
# Install repsled as a systemd service on Raspberry Pi OS Bookworm or Trixie
# (Pi Zero 2 W, 3, 4, 5). docs/install.md walks through it.
#
#   sudo deploy/install.sh                    install from this checkout
#   sudo deploy/install.sh --wheel FILE.whl   install a built wheel instead
#   sudo deploy/install.sh --with-mosquitto   also run the MQTT broker on this Pi
#   sudo deploy/install.sh --hub              install the history hub instead (a gym server)
#   sudo deploy/install.sh --uninstall        remove it; keep config and outbox (--purge: all)
#   deploy/install.sh --dry-run               print every action, change nothing
#   deploy/install.sh --root DIR --no-venv    write the files into DIR only (tests)
#
# Running it again changes only what differs and says so; the config file is written only
# when absent and is never overwritten.
set -euo pipefail

SRC_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# Paths on the target system; every file operation prefixes them with $ROOT.
APP_DIR=/opt/repsled
VENV=$APP_DIR/venv
CONF_DIR=/etc/repsled
CONF_FILE=$CONF_DIR/config.toml
MQTT_PASSWORD_FILE=$CONF_DIR/mqtt-password
DASHBOARD_PASSWORD_FILE=$CONF_DIR/dashboard-password
STATE_DIR=/var/lib/repsled
UNIT_FILE=/etc/systemd/system/repsled.service
LINK=/usr/local/bin/repsled
MQ_CONF=/etc/mosquitto/conf.d/repsled.conf
MQ_ACL=/etc/mosquitto/repsled.acl
MQ_PASSWD=/etc/mosquitto/repsled.passwd
MQ_PASSWD_MODE=0600 # owner mosquitto: hashes only, yet nobody else's business
SERVICE_USER=repsled
DEVICE_GROUPS=(i2c gpio)
APT_PACKAGES=(python3-venv python3-lgpio i2c-tools)

ROOT=""
DRY_RUN=0
NO_VENV=0
WHEEL=""
MODE=install
PURGE=0
WITH_MOSQUITTO=0
STATION=""
CHANGES=0
RELOAD_SYSTEMD=0
RESTART_MOSQUITTO=0
CONFIG_WRITTEN=0
HUB=0

usage() {
    cat <<'EOF'
Usage: install.sh [options]

  --wheel FILE       install this wheel instead of the checkout around this script
  --with-mosquitto   single-box mode: install and configure mosquitto on this machine
  --station NAME     station name (MQTT user and topics) for --with-mosquitto; default: host name
  --hub              install the history hub (repsled-hub.service) instead of a station;
                     with --with-mosquitto also the broker and its hub user; with
                     --uninstall remove the hub (--purge: its config and history too)
  --uninstall        remove the service, the venv and the broker snippet; keep the config
                     (/etc/repsled) and the outbox (/var/lib/repsled)
  --purge            with --uninstall: also remove config, outbox, broker passwords and the user
  --dry-run          print every action without doing it
  --root DIR         install into the directory tree DIR (for tests): no apt, systemctl,
                     useradd or raspi-config; prints what would have been done instead
  --no-venv          do not create the venv nor pip install (with --root: fast and offline)
  -h, --help         this help
EOF
}

die() {
    printf 'install.sh: error: %s\n' "$*" >&2
    exit 2
}

say() { printf '%s\n' "$*"; }

# An action that changes the target: counted, printed, skipped by --dry-run.
act() {
    local what=$1
    shift
    CHANGES=$((CHANGES + 1))
    if ((DRY_RUN)); then
        say "would: $what: $*"
        return 0
    fi
    say "-> $what"
    "$@"
}

# An action on the running system (packages, users, services): not done under --root.
sys_act() {
    local what=$1
    shift
    if [[ -n $ROOT ]]; then
        say "skipped (--root): $what: $*"
        return 0
    fi
    act "$what" "$@"
}

# Copy SRC to DEST (a target path) when the contents differ; returns 1 when unchanged.
put_file() {
    local src=$1 dest=$2 mode=$3 owner=$4
    local path=$ROOT$dest
    if [[ -f $path ]] && cmp -s "$src" "$path"; then
        return 1
    fi
    act "install $dest" install -D -m "$mode" "$src" "$path"
    set_owner "$dest" "$owner"
    return 0
}

set_owner() {
    local dest=$1 owner=$2
    if [[ -n $ROOT ]]; then
        say "skipped (--root): chown $owner $dest"
    elif ((!DRY_RUN)); then
        chown "$owner" "$dest"
    fi
}

ensure_dir() {
    local dir=$1 mode=$2 owner=$3
    if [[ -d $ROOT$dir ]]; then
        return 0
    fi
    act "create $dir" install -d -m "$mode" "$ROOT$dir"
    set_owner "$dir" "$owner"
}

have() { command -v "$1" >/dev/null 2>&1; }

parse_args() {
    while (($#)); do
        case $1 in
        --wheel)
            (($# >= 2)) || die "--wheel needs a file"
            WHEEL=$2
            shift
            ;;
        --root)
            (($# >= 2)) || die "--root needs a directory"
            ROOT=${2%/}
            shift
            ;;
        --station)
            (($# >= 2)) || die "--station needs a name"
            STATION=$2
            shift
            ;;
        --dry-run) DRY_RUN=1 ;;
        --no-venv) NO_VENV=1 ;;
        --with-mosquitto) WITH_MOSQUITTO=1 ;;
        --hub) HUB=1 ;;
        --uninstall) MODE=uninstall ;;
        --purge) PURGE=1 ;;
        -h | --help)
            usage
            exit 0
            ;;
        *) die "unknown option $1 (see --help)" ;;
        esac
        shift
    done
    if ((PURGE)) && [[ $MODE != uninstall ]]; then
        die "--purge only goes with --uninstall"
    fi
    if [[ -n $ROOT ]]; then
        [[ -d $ROOT ]] || die "--root $ROOT: no such directory"
        ROOT=$(cd "$ROOT" && pwd)
        [[ $ROOT != / ]] || ROOT=""
    fi
    if [[ -n $WHEEL ]]; then
        [[ -f $WHEEL && $WHEEL == *.whl ]] || die "--wheel $WHEEL: not a wheel file"
        WHEEL=$(cd "$(dirname "$WHEEL")" && pwd)/$(basename "$WHEEL")
    fi
    if [[ -z $STATION ]]; then
        STATION=$(uname -n)
    fi
    [[ $STATION =~ ^[A-Za-z0-9_-]+$ ]] ||
        die "--station $STATION: use letters, digits, - and _ only (it is an MQTT topic level)"
    if [[ -z $ROOT ]] && ((!DRY_RUN)) && ((EUID != 0)); then
        die "run as root (sudo), or try --dry-run"
    fi
}

# --- install steps -----------------------------------------------------------------------

check_os() {
    [[ -z $ROOT ]] || return 0
    local codename=""
    if [[ -r /etc/os-release ]]; then
        # shellcheck source=/dev/null
        codename=$(. /etc/os-release && printf '%s' "${VERSION_CODENAME:-}")
    fi
    case $codename in
    bookworm | trixie) ;;
    *) say "note: tested on Raspberry Pi OS Bookworm and Trixie; this is '${codename:-unknown}'" ;;
    esac
}

enable_i2c() {
    if [[ -n $ROOT ]]; then
        say "skipped (--root): enable I2C: raspi-config nonint do_i2c 0"
        return 0
    fi
    if ! have raspi-config; then
        say "note: no raspi-config; make sure dtparam=i2c_arm=on is set in config.txt"
        return 0
    fi
    # get_i2c prints 0 when the interface is already on.
    if [[ $(raspi-config nonint get_i2c 2>/dev/null || true) != 0 ]]; then
        act "enable I2C (takes effect now; a reboot makes sure)" raspi-config nonint do_i2c 0
    fi
}

install_packages() {
    install_apt_packages "${APT_PACKAGES[@]}"
}

# Install the Debian packages given (and mosquitto with --with-mosquitto) that are missing.
install_apt_packages() {
    local packages=("$@")
    ((WITH_MOSQUITTO)) && packages+=(mosquitto mosquitto-clients)
    if [[ -n $ROOT ]]; then
        say "skipped (--root): apt-get install -y ${packages[*]}"
        return 0
    fi
    local missing=() pkg
    for pkg in "${packages[@]}"; do
        if [[ $(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true) != "install ok installed" ]]; then
            missing+=("$pkg")
        fi
    done
    if ((${#missing[@]})); then
        act "refresh package lists" apt-get update -q
        act "install ${missing[*]}" env DEBIAN_FRONTEND=noninteractive \
            apt-get install -y -q --no-install-recommends "${missing[@]}"
    fi
}

create_user() {
    if [[ -n $ROOT ]]; then
        local joined
        joined=$(IFS=,; printf '%s' "${DEVICE_GROUPS[*]}")
        say "skipped (--root): useradd --system $SERVICE_USER; usermod -aG $joined $SERVICE_USER"
        return 0
    fi
    if ! id -u "$SERVICE_USER" >/dev/null 2>&1; then
        act "create system user $SERVICE_USER" useradd --system --user-group \
            --home-dir "$STATE_DIR" --no-create-home --shell /usr/sbin/nologin \
            --comment "repsled rep counter" "$SERVICE_USER"
    fi
    local group
    for group in "${DEVICE_GROUPS[@]}"; do
        if ! getent group "$group" >/dev/null; then
            say "warning: no group '$group': give $SERVICE_USER access to the ${group} devices yourself"
        elif ! id -nG "$SERVICE_USER" 2>/dev/null | tr ' ' '\n' | grep -qx "$group"; then
            act "add $SERVICE_USER to group $group" usermod -aG "$group" "$SERVICE_USER"
        fi
    done
}

source_digest() {
    if [[ -n $WHEEL ]]; then
        sha256sum "$WHEEL" | cut -d' ' -f1
        return
    fi
    (cd "$SRC_DIR" && find pyproject.toml firmware sensor tempo -type f \
        ! -path '*/__pycache__/*' ! -name '*.pyc' -print0 |
        LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1)
}

install_venv() {
    if ((NO_VENV)); then
        say "skipped (--no-venv): python3 -m venv --system-site-packages $VENV; pip install ${WHEEL:-$SRC_DIR}"
        return 0
    fi
    local venv=$ROOT$VENV stamp=$ROOT$VENV/.repsled-source digest
    if [[ ! -x $venv/bin/python ]]; then
        # System site packages: lgpio comes from the python3-lgpio package (PyPI has no wheel
        # for Trixie's Python 3.13, and building it needs swig and the C library).
        act "create venv $VENV" python3 -m venv --system-site-packages "$venv"
    fi
    digest=$(source_digest)
    if [[ -f $stamp && $(cat "$stamp") == "$digest" ]]; then
        return 0
    fi
    if [[ -x $venv/bin/python ]] && "$venv/bin/python" -m pip show -q repsled >/dev/null 2>&1; then
        act "remove the previous repsled from the venv" "$venv/bin/python" -m pip uninstall -q -y repsled
    fi
    act "pip install repsled from ${WHEEL:-$SRC_DIR}" \
        "$venv/bin/python" -m pip install -q "${WHEEL:-$SRC_DIR}"
    if ((!DRY_RUN)); then
        if ! "$venv/bin/python" -c 'import lgpio' 2>/dev/null; then
            act "pip install lgpio (no python3-lgpio package here)" \
                "$venv/bin/python" -m pip install -q lgpio
        fi
        printf '%s\n' "$digest" >"$stamp"
    fi
}

# The `repsled` command on PATH. Checked on every run, whether or not the venv changed: a
# first run that stopped half-way must not leave the link missing for good.
install_link() {
    ((!NO_VENV)) || return 0
    if [[ -L $ROOT$LINK ]] && [[ $(readlink "$ROOT$LINK") == "$VENV/bin/repsled" ]]; then
        return 0
    fi
    ensure_dir "$(dirname "$LINK")" 0755 root:root
    act "link $LINK to the venv's repsled" ln -sfn "$VENV/bin/repsled" "$ROOT$LINK"
}

install_config() {
    install_config_file "$CONF_DIR" "$CONF_FILE" "$SERVICE_USER"
}

# Write the example config as FILE in DIR (readable by USER) unless a config is already there.
install_config_file() {
    local dir=$1 file=$2 user=$3
    ensure_dir "$dir" 0750 "root:$user"
    if [[ -e $ROOT$file ]]; then
        say "kept $file (never overwritten; compare with deploy/config.example.toml)"
        return 0
    fi
    put_file "$SRC_DIR/deploy/config.example.toml" "$file" 0640 "root:$user" || true
    CONFIG_WRITTEN=1
}

install_unit() {
    if put_file "$SRC_DIR/systemd/repsled.service" "$UNIT_FILE" 0644 root:root; then
        RELOAD_SYSTEMD=1
    fi
    if ((RELOAD_SYSTEMD)); then
        sys_act "reload systemd" systemctl daemon-reload
    fi
    if [[ -n $ROOT ]]; then
        say "skipped (--root): systemctl enable repsled.service"
    elif ! systemctl is-enabled --quiet repsled.service 2>/dev/null; then
        act "enable repsled.service at boot" systemctl enable --quiet repsled.service
    fi
}

random_password() {
    python3 -c 'import secrets; print(secrets.token_urlsafe(18))'
}

# Write PASSWORD to a target file readable by OWNER (user:group) with MODE, atomically.
write_secret() {
    local dest=$1 mode=$2 owner=$3 password=$4
    if ((DRY_RUN)); then
        say "would: write the password to $dest"
        CHANGES=$((CHANGES + 1))
        return 0
    fi
    act "write the password to $dest" install -D -m "$mode" /dev/null "$ROOT$dest"
    printf '%s\n' "$password" >"$ROOT$dest"
    set_owner "$dest" "$owner"
}

# Append USER with PASSWORD, hashed, to the broker's password file. The password never
# appears on a command line (the process list shows those to every user): printf is a shell
# builtin, and mosquitto_passwd -U hashes a "user:password" file in a private directory.
append_broker_user() {
    local user=$1 password=$2 tmp line
    tmp=$(umask 077 && mktemp -d)
    printf '%s:%s\n' "$user" "$password" >"$tmp/batch"
    if ! mosquitto_passwd -U "$tmp/batch" >/dev/null; then
        rm -rf -- "$tmp"
        die "mosquitto_passwd could not hash the password of $user"
    fi
    line=$(cat "$tmp/batch")
    rm -rf -- "$tmp"
    (umask 077 && printf '%s\n' "$line" >>"$ROOT$MQ_PASSWD")
    chmod "$MQ_PASSWD_MODE" "$ROOT$MQ_PASSWD"
}

# Earlier installs left the password file readable by every user: tighten it.
secure_password_file() {
    local path=$ROOT$MQ_PASSWD
    [[ -f $path ]] || return 0
    if [[ $(stat -c %a "$path") != "${MQ_PASSWD_MODE#0}" ]]; then
        act "make $MQ_PASSWD readable by mosquitto only" chmod "$MQ_PASSWD_MODE" "$path"
    fi
}

add_broker_user() {
    local user=$1 secret_file=$2 secret_mode=$3 secret_owner=$4 password
    if [[ -f $ROOT$MQ_PASSWD ]] && cut -d: -f1 "$ROOT$MQ_PASSWD" | grep -qx "$user"; then
        return 0
    fi
    password=$(random_password)
    if ! have mosquitto_passwd && ((!DRY_RUN)); then
        say "skipped (no mosquitto_passwd here): add broker user $user to $MQ_PASSWD"
        return 0
    fi
    if ((DRY_RUN)); then
        say "would: add broker user $user to $MQ_PASSWD (mosquitto_passwd -U on a private file)"
        CHANGES=$((CHANGES + 1))
    else
        act "add broker user $user to $MQ_PASSWD" append_broker_user "$user" "$password"
    fi
    set_owner "$MQ_PASSWD" mosquitto:mosquitto
    write_secret "$secret_file" "$secret_mode" "$secret_owner" "$password"
    RESTART_MOSQUITTO=1
}

point_config_at_local_broker() {
    local edits=(
        -e "s|^# host = .*|host = \"localhost\"|"
        -e "s|^# station = .*|station = \"$STATION\"|"
        -e "s|^# username = .*|username = \"$STATION\"|"
        -e "s|^# password_file = .*|password_file = \"$MQTT_PASSWORD_FILE\"|"
    )
    if ((CONFIG_WRITTEN)); then
        act "point $CONF_FILE at the local broker as station $STATION" \
            sed -i "${edits[@]}" "$ROOT$CONF_FILE"
    elif ! grep -q '^host = ' "$ROOT$CONF_FILE" 2>/dev/null; then
        say "note: $CONF_FILE was kept; to use this broker set in [mqtt]:"
        say "      host = \"localhost\", station = \"$STATION\", username = \"$STATION\","
        say "      password_file = \"$MQTT_PASSWORD_FILE\""
    fi
}

install_mosquitto() {
    ((WITH_MOSQUITTO)) || return 0
    if put_file "$SRC_DIR/deploy/mosquitto/repsled.conf" "$MQ_CONF" 0644 root:root; then
        RESTART_MOSQUITTO=1
    fi
    if put_file "$SRC_DIR/deploy/mosquitto/acl" "$MQ_ACL" 0640 mosquitto:mosquitto; then
        RESTART_MOSQUITTO=1
    fi
    secure_password_file
    add_broker_user "$STATION" "$MQTT_PASSWORD_FILE" 0640 "root:$SERVICE_USER"
    add_broker_user dashboard "$DASHBOARD_PASSWORD_FILE" 0600 root:root
    point_config_at_local_broker
    if ((RESTART_MOSQUITTO)); then
        sys_act "restart mosquitto with the repsled settings" systemctl restart mosquitto.service
    fi
    if [[ -n $ROOT ]]; then
        say "skipped (--root): systemctl enable mosquitto.service"
    elif ! systemctl is-enabled --quiet mosquitto.service 2>/dev/null; then
        act "enable mosquitto at boot" systemctl enable --quiet mosquitto.service
    fi
}

next_steps() {
    cat <<EOF

Next steps (docs/install.md):
  1. Wire the VL53L0X and the buzzer, then check them:   sudo -u $SERVICE_USER repsled check --config $CONF_FILE
  2. Calibrate the sled (service stopped):                 sudo repsled calibrate --config $CONF_FILE
  3. Start counting:                                       sudo systemctl start repsled
     Follow it:                                            journalctl -u repsled -f
EOF
    if ((WITH_MOSQUITTO)); then
        say "  Broker: MQTT on port 1883, WebSockets on 9001, both with passwords. The dashboard page"
        say "  logs in as the user 'dashboard' (reads all, writes only next sets) (deploy/mosquitto/README.md):"
        say "    repsled dashboard --bind 0.0.0.0 --broker-user dashboard \\"
        say "        --broker-password-file <(sudo cat $DASHBOARD_PASSWORD_FILE)"
    fi
}

do_install() {
    check_os
    enable_i2c
    install_packages
    create_user
    install_venv
    install_link
    install_config
    install_unit
    install_mosquitto
    if ((CHANGES == 0)); then
        say "Nothing to do: repsled is already installed as asked."
    elif ((DRY_RUN)); then
        say "Dry run: $CHANGES actions above would be taken; nothing was changed."
    else
        say "Done: $CHANGES changes made. If repsled was running: sudo systemctl restart repsled"
    fi
    next_steps
}

# --- uninstall ---------------------------------------------------------------------------

remove() {
    local what=$1
    if [[ -e $ROOT$what || -L $ROOT$what ]]; then
        act "remove $what" rm -rf -- "$ROOT$what"
    fi
}

do_uninstall() {
    if [[ -e $ROOT$UNIT_FILE ]]; then
        sys_act "stop and disable repsled.service" systemctl disable --now --quiet repsled.service
        remove "$UNIT_FILE"
        sys_act "reload systemd" systemctl daemon-reload
    fi
    if [[ -L $ROOT$LINK ]] && [[ $(readlink "$ROOT$LINK") == "$VENV/bin/repsled" ]]; then
        remove "$LINK"
    fi
    remove "$APP_DIR"
    if [[ -e $ROOT$MQ_CONF ]]; then
        remove "$MQ_CONF"
        remove "$MQ_ACL"
        sys_act "restart mosquitto without the repsled settings" systemctl try-restart mosquitto.service
    fi
    if ((PURGE)); then
        remove "$CONF_DIR"
        remove "$STATE_DIR"
        remove "$MQ_PASSWD"
        if [[ -n $ROOT ]]; then
            say "skipped (--root): userdel $SERVICE_USER"
        elif id -u "$SERVICE_USER" >/dev/null 2>&1; then
            act "remove user $SERVICE_USER" userdel "$SERVICE_USER"
        fi
    else
        local kept
        for kept in "$CONF_DIR" "$STATE_DIR" "$MQ_PASSWD"; do
            if [[ -e $ROOT$kept ]]; then
                say "kept $kept (--purge removes it)"
            fi
        done
    fi
    say "System packages (python3-lgpio, i2c-tools, mosquitto) are left installed."
    if ((CHANGES == 0)); then
        say "Nothing to do: repsled is not installed."
    elif ((DRY_RUN)); then
        say "Dry run: $CHANGES actions above would be taken; nothing was changed."
    else
        say "Done: $CHANGES changes made."
    fi
}

# --- the history hub (--hub): a gym server, or beside a station on a Pi 4/5 -------------

HUB_USER=repsled-hub
HUB_CONF_DIR=/etc/repsled-hub
HUB_CONF_FILE=$HUB_CONF_DIR/hub.toml
HUB_PASSWORD_FILE=$HUB_CONF_DIR/mqtt-password
HUB_PAGE_PASSWORD_FILE=$HUB_CONF_DIR/dashboard-password
HUB_STATE_DIR=/var/lib/repsled-hub
HUB_UNIT_FILE=/etc/systemd/system/repsled-hub.service
HUB_APT_PACKAGES=(python3-venv)

do_install_hub() {
    check_os
    install_hub_packages
    create_hub_user
    install_hub_venv
    install_link
    install_hub_config
    install_hub_broker
    install_hub_unit
    if ((CHANGES == 0)); then
        say "Nothing to do: the repsled hub is already installed as asked."
    elif ((DRY_RUN)); then
        say "Dry run: $CHANGES actions above would be taken; nothing was changed."
    else
        say "Done: $CHANGES changes made. If the hub was running: sudo systemctl restart repsled-hub"
    fi
    cat <<EOF

Next steps (docs/install.md, "A gym: one server, many stations"):
  1. Choose the database in $HUB_CONF_FILE ([hub] db); not set: SQLite in $HUB_STATE_DIR.
     PostgreSQL: sudo -u postgres createuser $HUB_USER
                 sudo -u postgres createdb -O $HUB_USER repsled
                 then db = "postgresql:///repsled"
  2. Point it at the broker ([hub] broker, username, password_file) and, to open the pages to
     the gym's network, set [hub] bind = "0.0.0.0".
  3. Start it:                 sudo systemctl start repsled-hub
     Follow it:                journalctl -u repsled-hub -f
EOF
}

install_hub_packages() {
    install_apt_packages "${HUB_APT_PACKAGES[@]}"
}

create_hub_user() {
    if [[ -n $ROOT ]]; then
        say "skipped (--root): useradd --system $HUB_USER"
        return 0
    fi
    if ! id -u "$HUB_USER" >/dev/null 2>&1; then
        act "create system user $HUB_USER" useradd --system --user-group \
            --home-dir "$HUB_STATE_DIR" --no-create-home --shell /usr/sbin/nologin \
            --comment "repsled history hub" "$HUB_USER"
    fi
}

# The same venv as a station's (one repsled per box), with the hub's extra dependencies.
install_hub_venv() {
    local spec="${WHEEL:-$SRC_DIR}[hub]"
    if ((NO_VENV)); then
        say "skipped (--no-venv): python3 -m venv $VENV; pip install $spec"
        return 0
    fi
    local venv=$ROOT$VENV stamp=$ROOT$VENV/.repsled-hub-source digest
    if [[ ! -x $venv/bin/python ]]; then
        act "create venv $VENV" python3 -m venv --system-site-packages "$venv"
    fi
    digest=$(source_digest)
    if [[ -f $stamp && $(cat "$stamp") == "$digest" ]]; then
        return 0
    fi
    act "pip install $spec" "$venv/bin/python" -m pip install -q "$spec"
    if ((!DRY_RUN)); then
        printf '%s\n' "$digest" >"$stamp"
    fi
}

install_hub_config() {
    install_config_file "$HUB_CONF_DIR" "$HUB_CONF_FILE" "$HUB_USER"
}

install_hub_broker() {
    ((WITH_MOSQUITTO)) || return 0
    if put_file "$SRC_DIR/deploy/mosquitto/repsled.conf" "$MQ_CONF" 0644 root:root; then
        RESTART_MOSQUITTO=1
    fi
    if put_file "$SRC_DIR/deploy/mosquitto/acl" "$MQ_ACL" 0640 mosquitto:mosquitto; then
        RESTART_MOSQUITTO=1
    fi
    add_broker_user hub "$HUB_PASSWORD_FILE" 0640 "root:$HUB_USER"
    add_broker_user dashboard "$DASHBOARD_PASSWORD_FILE" 0600 root:root
    share_dashboard_login_with_hub
    if ((CONFIG_WRITTEN)); then
        act "point $HUB_CONF_FILE at the local broker as user hub" sed -i \
            -e 's|^# username = "hub"|username = "hub"|' \
            -e "s|^# password_file = \"$HUB_PASSWORD_FILE\"|password_file = \"$HUB_PASSWORD_FILE\"|" \
            -e 's|^# page_user = "dashboard"|page_user = "dashboard"|' \
            -e "s|^# page_password_file = .*|page_password_file = \"$HUB_PAGE_PASSWORD_FILE\"|" \
            "$ROOT$HUB_CONF_FILE"
    fi
    if ((RESTART_MOSQUITTO)); then
        sys_act "restart mosquitto with the repsled settings" systemctl restart mosquitto.service
    fi
    if [[ -n $ROOT ]]; then
        say "skipped (--root): systemctl enable mosquitto.service"
    elif ! systemctl is-enabled --quiet mosquitto.service 2>/dev/null; then
        act "enable mosquitto at boot" systemctl enable --quiet mosquitto.service
    fi
}

# The live page logs in as the `dashboard` broker user (it reads all and writes only next
# sets; the WebSockets listener refuses anonymous clients); the hub hands that login to the
# page, so it needs a copy it can read. The station side keeps its root-only copy.
share_dashboard_login_with_hub() {
    [[ -e $ROOT$HUB_PAGE_PASSWORD_FILE ]] && return 0
    if [[ ! -f $ROOT$DASHBOARD_PASSWORD_FILE ]] && ((!DRY_RUN)); then
        say "skipped (no $DASHBOARD_PASSWORD_FILE): copy it to $HUB_PAGE_PASSWORD_FILE"
        return 0
    fi
    if ((DRY_RUN)); then
        say "would: copy the dashboard user's password to $HUB_PAGE_PASSWORD_FILE"
        CHANGES=$((CHANGES + 1))
        return 0
    fi
    write_secret "$HUB_PAGE_PASSWORD_FILE" 0640 "root:$HUB_USER" \
        "$(cat "$ROOT$DASHBOARD_PASSWORD_FILE")"
}

install_hub_unit() {
    if put_file "$SRC_DIR/systemd/repsled-hub.service" "$HUB_UNIT_FILE" 0644 root:root; then
        sys_act "reload systemd" systemctl daemon-reload
    fi
    if [[ -n $ROOT ]]; then
        say "skipped (--root): systemctl enable repsled-hub.service"
    elif ! systemctl is-enabled --quiet repsled-hub.service 2>/dev/null; then
        act "enable repsled-hub.service at boot" systemctl enable --quiet repsled-hub.service
    fi
}

do_uninstall_hub() {
    if [[ -e $ROOT$HUB_UNIT_FILE ]]; then
        sys_act "stop and disable repsled-hub.service" \
            systemctl disable --now --quiet repsled-hub.service
        remove "$HUB_UNIT_FILE"
        sys_act "reload systemd" systemctl daemon-reload
    fi
    # The venv is shared with a station installed on the same box: keep it for that.
    if [[ ! -e $ROOT$UNIT_FILE ]]; then
        if [[ -L $ROOT$LINK ]] && [[ $(readlink "$ROOT$LINK") == "$VENV/bin/repsled" ]]; then
            remove "$LINK"
        fi
        remove "$APP_DIR"
    fi
    if ((PURGE)); then
        remove "$HUB_CONF_DIR"
        remove "$HUB_STATE_DIR"
        if [[ -n $ROOT ]]; then
            say "skipped (--root): userdel $HUB_USER"
        elif id -u "$HUB_USER" >/dev/null 2>&1; then
            act "remove user $HUB_USER" userdel "$HUB_USER"
        fi
    else
        local kept
        for kept in "$HUB_CONF_DIR" "$HUB_STATE_DIR"; do
            if [[ -e $ROOT$kept ]]; then
                say "kept $kept (--purge removes it, with the history it holds)"
            fi
        done
    fi
    if ((CHANGES == 0)); then
        say "Nothing to do: the repsled hub is not installed."
    elif ((DRY_RUN)); then
        say "Dry run: $CHANGES actions above would be taken; nothing was changed."
    else
        say "Done: $CHANGES changes made."
    fi
}

main() {
    parse_args "$@"
    if [[ -n $ROOT ]]; then
        say "Installing into $ROOT (--root): system changes are printed, not made."
    fi
    case $MODE:$HUB in
    install:0) do_install ;;
    uninstall:0) do_uninstall ;;
    install:1) do_install_hub ;;
    uninstall:1) do_uninstall_hub ;;
    esac
}

main "$@"
