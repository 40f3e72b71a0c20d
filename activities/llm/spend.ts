// A spend limit shared by the calls of one activity (or worker): each call reserves its worst-case cost
// before it is fired and settles to the billed cost after, so a run stops cleanly *before* it would pass
// its budget instead of noticing afterwards.
export class BudgetExceededError extends Error {
  constructor(
    readonly limitUsd: number,
    readonly committedUsd: number,
    readonly neededUsd: number,
  ) {
    super(
      `budget: $${neededUsd.toFixed(6)} more would exceed the limit of $${limitUsd.toFixed(2)} ($${committedUsd.toFixed(6)} spent or reserved)`,
    );
    this.name = 'BudgetExceededError';
  }
}

export interface Reservation {
  settle(actualUsd: number): void;
  cancel(): void;
}

export class SpendMeter {
  private spent: number;
  private reserved = 0;

  constructor(
    readonly limitUsd: number,
    spentUsd = 0,
  ) {
    this.spent = spentUsd;
  }

  get spentUsd(): number {
    return Math.round(this.spent * 1e6) / 1e6;
  }

  get remainingUsd(): number {
    return Math.max(0, this.limitUsd - this.spent - this.reserved);
  }

  /** Throws BudgetExceededError, firing nothing, when `usd` does not fit in what is left. */
  reserve(usd: number): Reservation {
    if (this.spent + this.reserved + usd > this.limitUsd + 1e-12)
      throw new BudgetExceededError(this.limitUsd, this.spent + this.reserved, usd);
    this.reserved += usd;
    let open = true;
    return {
      settle: (actual: number) => {
        if (!open) return;
        open = false;
        this.reserved -= usd;
        this.spent += actual;
      },
      cancel: () => {
        if (!open) return;
        open = false;
        this.reserved -= usd;
      },
    };
  }
}
