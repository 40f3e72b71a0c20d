// One informer on the trainer Jobs and one on their pods per worker (per KubeConfig and namespace), shared by
// every step that waits: two watch connections whatever the number of concurrent steps, where each step used
// to open its own two watches and poll. Steps read Jobs and pods from the informers' caches and are woken
// when an object of theirs changes. The informers stop once no step has used them for a short while.
import {
  BatchV1Api,
  CoreV1Api,
  makeInformer,
  type Informer,
  type KubeConfig,
  type KubernetesObject,
  type ObjectCache,
  type V1Job,
  type V1Pod,
} from '@kubernetes/client-node';
import { LABELS } from './names';

const JOB_NAME_LABEL = 'batch.kubernetes.io/job-name';
const SELECTOR = `${LABELS.managedBy}=llamaduo`;

export interface JobInformer {
  /** resolves once both caches hold a first full list */
  ready(): Promise<void>;
  /** whether both informers are connected (an error makes callers read the API directly until reconnect) */
  healthy(): boolean;
  job(name: string): V1Job | undefined;
  pods(jobName: string): V1Pod[];
  /** calls onChange whenever the Job or one of its pods changes; returns the unsubscribe */
  subscribe(jobName: string, onChange: () => void): () => void;
}

type Cached<T extends KubernetesObject> = Informer<T> & ObjectCache<T>;

/** How many informer pairs this process has started, for tests and the metrics. */
export const informerStats = { started: 0, active: 0 };

const perConfig = new WeakMap<KubeConfig, Map<string, SharedInformer>>();

/** The worker's shared informer for a namespace; `lingerMs` keeps it after the last step leaves. */
export function acquireJobInformer(
  kc: KubeConfig,
  namespace: string,
  lingerMs = 5000,
): { informer: JobInformer; release(): void } {
  let byNs = perConfig.get(kc);
  if (!byNs) perConfig.set(kc, (byNs = new Map()));
  let shared = byNs.get(namespace);
  if (!shared || shared.stopped) byNs.set(namespace, (shared = new SharedInformer(kc, namespace, lingerMs)));
  return shared.acquire();
}

class SharedInformer implements JobInformer {
  stopped = false;
  private users = 0;
  private lingerTimer: NodeJS.Timeout | undefined;
  private readonly jobs: Cached<V1Job>;
  private readonly podInformer: Cached<V1Pod>;
  private readonly listeners = new Map<string, Set<() => void>>();
  private readonly started: Promise<void>;
  private errored = false;
  private restartTimer: NodeJS.Timeout | undefined;

  constructor(
    kc: KubeConfig,
    private readonly namespace: string,
    private readonly lingerMs: number,
  ) {
    const batch = kc.makeApiClient(BatchV1Api);
    const core = kc.makeApiClient(CoreV1Api);
    this.jobs = makeInformer<V1Job>(
      kc,
      `/apis/batch/v1/namespaces/${namespace}/jobs`,
      () => batch.listNamespacedJob({ namespace, labelSelector: SELECTOR }),
      SELECTOR,
    );
    this.podInformer = makeInformer<V1Pod>(
      kc,
      `/api/v1/namespaces/${namespace}/pods`,
      () => core.listNamespacedPod({ namespace, labelSelector: SELECTOR }),
      SELECTOR,
    );
    const onJob = (j: V1Job) => this.notify(j.metadata?.name);
    const onPod = (p: V1Pod) => this.notify(p.metadata?.labels?.[JOB_NAME_LABEL]);
    for (const verb of ['add', 'update', 'delete'] as const) {
      this.jobs.on(verb, onJob);
      this.podInformer.on(verb, onPod);
    }
    for (const inf of [this.jobs, this.podInformer] as Cached<KubernetesObject>[]) {
      // The informer stops on an error (410 Gone is handled inside): mark unhealthy, wake everyone so they
      // read the API directly, and start again (a fresh list) after a pause.
      inf.on('error', () => {
        this.errored = true;
        this.notifyAll();
        clearTimeout(this.restartTimer);
        this.restartTimer = setTimeout(() => {
          if (this.stopped) return;
          inf.start().then(
            () => (this.errored = false),
            () => {},
          );
        }, 2000);
      });
      inf.on('connect', () => (this.errored = false));
    }
    informerStats.started++;
    informerStats.active++;
    this.started = Promise.all([this.jobs.start(), this.podInformer.start()]).then(() => {});
    // a failed first list surfaces to the caller of ready(), not as an unhandled rejection
    this.started.catch(() => {});
  }

  acquire(): { informer: JobInformer; release(): void } {
    this.users++;
    clearTimeout(this.lingerTimer);
    let released = false;
    return {
      informer: this,
      release: () => {
        if (released) return;
        released = true;
        if (--this.users === 0) this.lingerTimer = setTimeout(() => this.stop(), this.lingerMs);
      },
    };
  }

  private stop(): void {
    if (this.users > 0 || this.stopped) return;
    this.stopped = true;
    informerStats.active--;
    clearTimeout(this.restartTimer);
    void this.jobs.stop().catch(() => {});
    void this.podInformer.stop().catch(() => {});
  }

  ready(): Promise<void> {
    return this.started;
  }

  healthy(): boolean {
    return !this.errored;
  }

  job(name: string): V1Job | undefined {
    return this.jobs.get(name, this.namespace);
  }

  pods(jobName: string): V1Pod[] {
    return this.podInformer
      .list(this.namespace)
      .filter((p) => p.metadata?.labels?.[JOB_NAME_LABEL] === jobName);
  }

  subscribe(jobName: string, onChange: () => void): () => void {
    let set = this.listeners.get(jobName);
    if (!set) this.listeners.set(jobName, (set = new Set()));
    set.add(onChange);
    return () => {
      set.delete(onChange);
      if (!set.size) this.listeners.delete(jobName);
    };
  }

  private notify(jobName: string | undefined): void {
    if (!jobName) return;
    for (const fn of this.listeners.get(jobName) ?? []) fn();
  }

  private notifyAll(): void {
    for (const set of this.listeners.values()) for (const fn of set) fn();
  }
}
