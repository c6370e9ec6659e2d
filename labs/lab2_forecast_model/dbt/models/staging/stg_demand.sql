-- Units per SKU, region and period as loaded; each date moved to the start of its period
-- (lab.yaml forecast.frequency), so a Saturday-dated week or a month-end date still lands on its period.
with

source as (

    select * from {{ source('raw', 'demand') }}

),

renamed as (

    select
        sku,
        region,
        period_start as source_date,
        {{ period_start('period_start') }} as period_start,
        cast(units as double) as units,
        _source_file,
        _loaded_at
    from source

)

select * from renamed
