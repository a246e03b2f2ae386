export declare const BACKGROUND_NICE: number;

export declare function yieldToMainThread(): void;
