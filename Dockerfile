# rdpprobe serve in an image with nothing else in it: no base image to pull, no shell, no
# package manager. `make image` builds it: the context is dist/image/, where make puts the static
# binary (CGO_ENABLED=0), the build host's CA certificates and the packaged rdpprobe.yml.
#
#   make image                       # podman build -t rdpprobe:VERSION dist/image
#   podman run --rm -p 9883:9883 rdpprobe:VERSION
#   podman run --rm -p 9883:9883 -v ./rdpprobe.yml:/etc/rdpprobe/rdpprobe.yml:ro rdpprobe:VERSION
FROM scratch
COPY rdpprobe /usr/bin/rdpprobe
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY rdpprobe.yml /etc/rdpprobe/rdpprobe.yml
# A user of no account: no /etc/passwd is needed for a number.
USER 65532:65532
EXPOSE 9883
ENTRYPOINT ["/usr/bin/rdpprobe", "serve"]
CMD ["--config=/etc/rdpprobe/rdpprobe.yml"]
