# Sourced by the scripts here: sets the array `uv` to a working uv, installing it with pip if
# it is missing (a fresh machine needs only Python 3.11+ and pip).
if command -v uv >/dev/null 2>&1; then
    uv=(uv)
elif python3 -m uv --version >/dev/null 2>&1; then
    uv=(python3 -m uv)
else
    echo "uv is missing; installing it with pip" >&2
    python3 -m pip install --quiet uv \
        || python3 -m pip install --quiet --user uv \
        || python3 -m pip install --quiet --break-system-packages uv
    uv=(python3 -m uv)
fi
