// Defaults the command modules share, in a module that imports nothing, so a command's
// `--help` does not load the daemon to learn where the config lives.
export const DEFAULT_CONFIG = '/etc/gatewarden/config.yaml';
