// Keeps a watch open on one Kubernetes collection and calls onChange for every event, re-watching from the
// last resourceVersion when the stream ends and re-listing (fresh resourceVersion) on 410 Gone. Callers
// still poll: the watch only makes them react sooner.
import { Watch, type KubeConfig } from '@kubernetes/client-node';

export interface WatchTarget {
  path: string;
  fieldSelector?: string;
  labelSelector?: string;
}

export function keepWatching(
  kc: KubeConfig,
  target: WatchTarget,
  onChange: () => void,
  signal: AbortSignal,
): void {
  const watch = new Watch(kc);
  let resourceVersion: string | undefined;
  let controller: AbortController | undefined;
  let backoffMs = 250;

  const restart = (err: unknown) => {
    if (signal.aborted) return;
    const gone =
      (err as { code?: number; statusCode?: number })?.code === 410 ||
      /\b410\b|too old resource version/.test(String(err));
    if (gone) resourceVersion = undefined; // re-list: start from "now" and let the caller poll what it missed
    onChange();
    const delay = err ? backoffMs : 0;
    backoffMs = err ? Math.min(backoffMs * 2, 5000) : 250;
    setTimeout(start, delay);
  };

  const start = () => {
    if (signal.aborted) return;
    watch
      .watch(
        target.path,
        {
          fieldSelector: target.fieldSelector,
          labelSelector: target.labelSelector,
          resourceVersion,
          allowWatchBookmarks: true,
          // under the client's 30 s idle abort, so the server ends the stream cleanly first
          timeoutSeconds: 25,
        },
        (type, obj: { metadata?: { resourceVersion?: string }; code?: number }) => {
          if (type === 'ERROR') {
            if (obj.code === 410) resourceVersion = undefined;
            return;
          }
          if (obj.metadata?.resourceVersion) resourceVersion = obj.metadata.resourceVersion;
          if (type !== 'BOOKMARK') onChange();
        },
        restart,
      )
      .then((c) => {
        controller = c;
        if (signal.aborted) c.abort();
      }, restart);
  };
  signal.addEventListener('abort', () => controller?.abort(), { once: true });
  start();
}
