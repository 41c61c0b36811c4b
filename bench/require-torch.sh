# Sourced by the bench run.sh scripts that measure against PyTorch: stops with the install
# command when /usr/bin/python3 has no PyTorch (Debian's, over OpenBLAS; DESIGN.md section 6).
# $1: the bench's name, for the message.
if ! /usr/bin/python3 -c 'import torch, numpy' 2>/dev/null; then
  echo "$1 needs PyTorch for /usr/bin/python3. Install it with:" >&2
  echo "  sudo apt-get install -y python3-torch libopenblas0-pthread" >&2
  exit 2
fi
